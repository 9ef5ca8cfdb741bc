/* Pod and PodSpec: the API server's defaults (core/v1 defaults.go) and validation
 * (pkg/apis/core/validation) for Pods and for the pod templates of workloads. Templates and
 * Pods share one code path so a Deployment's template and its ReplicaSet's compare equal. */
#include "resources/res-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jx.h"

/* Field paths are bounded; a path that does not fit is cut, never overflowed. */
#define P(buf, ...) res__path(buf, sizeof buf, __VA_ARGS__)

/* ---- defaults ---- */

/* Kubernetes pulls `:latest` (explicit, or implied by no tag and no digest) always. */
static const char *image_pull_policy(const char *image)
{
    const char *slash, *colon;

    if (!image)
        return "IfNotPresent";
    if (strchr(image, '@'))
        return "IfNotPresent";
    slash = strrchr(image, '/');
    colon = strrchr(slash ? slash : image, ':');
    if (!colon)
        return "Always";
    return strcmp(colon + 1, "latest") == 0 ? "Always" : "IfNotPresent";
}

static void httpget_default(json_t *h)
{
    res__dset(h, "path", json_string("/"));
    res__dset(h, "scheme", json_string("HTTP"));
}

static void probe_default(json_t *p)
{
    if (!json_is_object(p))
        return;
    res__dset(p, "timeoutSeconds", json_integer(1));
    res__dset(p, "periodSeconds", json_integer(10));
    res__dset(p, "successThreshold", json_integer(1));
    res__dset(p, "failureThreshold", json_integer(3));
    if (json_is_object(json_object_get(p, "httpGet")))
        httpget_default(json_object_get(p, "httpGet"));
}

static void handler_default(json_t *h)
{
    if (json_is_object(h) && json_is_object(json_object_get(h, "httpGet")))
        httpget_default(json_object_get(h, "httpGet"));
}

static void fieldref_default(json_t *holder)
{
    json_t *fr = json_object_get(holder, "fieldRef");

    if (json_is_object(fr))
        res__dset(fr, "apiVersion", json_string("v1"));
}

/* Pods only: a limit without a request means request := limit. */
static void requests_from_limits(json_t *c)
{
    json_t *res = json_object_get(c, "resources"), *lim, *req, *v;
    const char *k;

    lim = json_object_get(res, "limits");
    if (!json_is_object(lim) || json_object_size(lim) == 0)
        return;
    req = res__dobj(res, "requests");
    if (!req)
        return;
    json_object_foreach(lim, k, v)
        if (!json_object_get(req, k))
            json_object_set(req, k, v);
}

static void container_default(json_t *c, int is_pod, int host_network)
{
    size_t i;
    json_t *e, *lc;

    if (!json_is_object(c))
        return;
    res__dset(c, "imagePullPolicy", json_string(image_pull_policy(jx_str(c, "image"))));
    res__dset(c, "terminationMessagePath", json_string("/dev/termination-log"));
    res__dset(c, "terminationMessagePolicy", json_string("File"));
    res__dobj(c, "resources");
    json_array_foreach(json_object_get(c, "ports"), i, e) {
        res__dset(e, "protocol", json_string("TCP"));
        if (is_pod && host_network && json_is_integer(json_object_get(e, "containerPort")) &&
            jx_int(e, "hostPort", 0) == 0)
            json_object_set(e, "hostPort", json_object_get(e, "containerPort"));
    }
    json_array_foreach(json_object_get(c, "env"), i, e)
        if (json_is_object(json_object_get(e, "valueFrom")))
            fieldref_default(json_object_get(e, "valueFrom"));
    probe_default(json_object_get(c, "livenessProbe"));
    probe_default(json_object_get(c, "readinessProbe"));
    probe_default(json_object_get(c, "startupProbe"));
    lc = json_object_get(c, "lifecycle");
    if (json_is_object(lc)) {
        handler_default(json_object_get(lc, "postStart"));
        handler_default(json_object_get(lc, "preStop"));
    }
    if (is_pod)
        requests_from_limits(c);
}

static const char *const volume_sources[] = {
    "hostPath", "emptyDir", "secret", "persistentVolumeClaim", "configMap", "downwardAPI",
    "projected", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi",
    "glusterfs", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile",
    "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "portworxVolume",
    "scaleIO", "storageos", "csi", "ephemeral", "image", NULL};

static void projected_default(json_t *pv)
{
    size_t i, j;
    json_t *src, *it;

    res__dset(pv, "defaultMode", json_integer(420));
    json_array_foreach(json_object_get(pv, "sources"), i, src) {
        json_t *sat = json_object_get(src, "serviceAccountToken");

        if (json_is_object(sat))
            res__dset(sat, "expirationSeconds", json_integer(3600));
        json_array_foreach(jx_get(src, "downwardAPI.items"), j, it)
            fieldref_default(it);
    }
}

static void volume_default(json_t *v)
{
    int any = 0;
    json_t *s;
    size_t i;

    if (!json_is_object(v))
        return;
    for (int k = 0; volume_sources[k]; k++) {
        s = json_object_get(v, volume_sources[k]);
        any |= s && !json_is_null(s);
    }
    if (!any)
        json_object_set_new(v, "emptyDir", json_object());
    if (json_is_object(s = json_object_get(v, "secret")))
        res__dset(s, "defaultMode", json_integer(420));
    if (json_is_object(s = json_object_get(v, "configMap")))
        res__dset(s, "defaultMode", json_integer(420));
    if (json_is_object(s = json_object_get(v, "hostPath")))
        res__dset(s, "type", json_string(""));
    if (json_is_object(s = json_object_get(v, "downwardAPI"))) {
        json_t *it;

        res__dset(s, "defaultMode", json_integer(420));
        json_array_foreach(json_object_get(s, "items"), i, it)
            fieldref_default(it);
    }
    if (json_is_object(s = json_object_get(v, "projected")))
        projected_default(s);
}

void res__podspec_default(json_t *spec, int is_pod)
{
    static const char *const lists[] = {"initContainers", "containers", "ephemeralContainers"};
    int hostnet = jx_bool(spec, "hostNetwork");
    size_t i;
    json_t *e;

    if (!json_is_object(spec))
        return;
    res__dset(spec, "restartPolicy", json_string("Always"));
    res__dset(spec, "terminationGracePeriodSeconds", json_integer(30));
    res__dset(spec, "dnsPolicy", json_string("ClusterFirst"));
    res__dset(spec, "schedulerName", json_string("default-scheduler"));
    res__dobj(spec, "securityContext");
    if (is_pod)
        res__dset(spec, "enableServiceLinks", json_true());
    for (int l = 0; l < 3; l++)
        json_array_foreach(json_object_get(spec, lists[l]), i, e)
            container_default(e, is_pod, hostnet);
    json_array_foreach(json_object_get(spec, "volumes"), i, e)
        volume_default(e);
}

void res__podtemplate_default(json_t *tmpl)
{
    if (json_is_object(tmpl))
        res__podspec_default(json_object_get(tmpl, "spec"), 0);
}

void res__pod_default(json_t *obj)
{
    res__podspec_default(json_object_get(obj, "spec"), 1);
    res__pod_default_tolerations(json_object_get(obj, "spec"));
}

/* ---- validation ---- */

static int str_in(const char *s, const char *const *set)
{
    for (; s && *set; set++)
        if (strcmp(s, *set) == 0)
            return 1;
    return 0;
}

static void enum_check(const json_t *o, const char *key, const char *field, int required,
                       const char *const *set, struct err *err)
{
    const json_t *v = json_object_get(o, key);
    const char *s = json_string_value(v);

    if (!s || !*s) {
        if (required)
            err_field_required(err, field, "");
        return;
    }
    if (!str_in(s, set))
        err_field_unsupported(err, field, v, set);
}

/* IANA service name rules that Kubernetes applies to named ports. */
static void port_name_check(const json_t *v, const char *field, struct err *err)
{
    const char *s = json_string_value(v);
    int letter = 0;

    if (!s)
        return;
    if (strlen(s) > 15)
        err_field_invalid(err, field, v, "must be no more than 15 characters");
    for (const char *p = s; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-')) {
            err_field_invalid(err, field, v, "must contain only alpha-numeric characters (a-z, "
                                             "0-9), and hyphens (-)");
            break;
        }
    }
    if (strstr(s, "--"))
        err_field_invalid(err, field, v, "must not contain consecutive hyphens");
    for (const char *p = s; *p; p++)
        letter |= *p >= 'a' && *p <= 'z';
    if (!letter)
        err_field_invalid(err, field, v, "must contain at least one letter (a-z)");
    if (*s == '-' || (*s && s[strlen(s) - 1] == '-'))
        err_field_invalid(err, field, v, "must not begin or end with a hyphen");
}

static void port_num_check(const json_t *v, const char *field, struct err *err)
{
    json_int_t n = json_integer_value(v);

    if (json_is_integer(v) && (n < 1 || n > 65535))
        err_field_invalid(err, field, v, "must be between 1 and 65535, inclusive");
}

/* An int-or-string port of a probe or hook: a number in range or a valid port name. */
static void intstr_port_check(const json_t *v, const char *field, struct err *err)
{
    if (json_is_string(v))
        port_name_check(v, field, err);
    else
        port_num_check(v, field, err);
}

static void handler_validate(const json_t *h, const char *field, int is_probe, struct err *err)
{
    static const char *const kinds[] = {"exec", "httpGet", "tcpSocket", "grpc", "sleep"};
    static const char *const schemes[] = {"HTTP", "HTTPS", NULL};
    int n = 0;
    char f[700];

    for (int i = 0; i < 5; i++) {
        const json_t *a = json_object_get(h, kinds[i]);

        if (!a || json_is_null(a) || (is_probe && i == 4) || (!is_probe && i == 3))
            continue;
        if (n++) {
            P(f, "%s.%s", field, kinds[i]);
            err_field_forbidden(err, f, "may not specify more than 1 handler type");
            continue;
        }
        if (i == 0 && json_array_size(json_object_get(a, "command")) == 0) {
            P(f, "%s.exec.command", field);
            err_field_required(err, f, "");
        }
        if (i == 1 || i == 2) {
            P(f, "%s.%s.port", field, kinds[i]);
            if (!json_object_get(a, "port"))
                err_field_required(err, f, "");
            intstr_port_check(json_object_get(a, "port"), f, err);
        }
        if (i == 1) {
            P(f, "%s.httpGet.scheme", field);
            enum_check(a, "scheme", f, 0, schemes, err);
        }
        if (i == 3) {
            P(f, "%s.grpc.port", field);
            port_num_check(json_object_get(a, "port"), f, err);
        }
        if (i == 4 && json_integer_value(json_object_get(a, "seconds")) < 0) {
            P(f, "%s.sleep.seconds", field);
            err_field_invalid(err, f, json_object_get(a, "seconds"),
                              "must be greater than or equal to 0");
        }
    }
    if (n == 0)
        err_field_required(err, field, "must specify a handler type");
}

static void probe_validate(const json_t *p, const char *field, int need_success_one,
                           struct err *err)
{
    static const char *const ints[] = {"initialDelaySeconds", "timeoutSeconds", "periodSeconds",
                                       "successThreshold", "failureThreshold"};
    const json_t *v;
    char f[700];

    if (!json_is_object(p))
        return;
    handler_validate(p, field, 1, err);
    for (int i = 0; i < 5; i++) {
        P(f, "%s.%s", field, ints[i]);
        res__nonneg(p, ints[i], f, err);
    }
    v = json_object_get(p, "successThreshold");
    if (need_success_one && json_is_integer(v) && json_integer_value(v) != 1) {
        P(f, "%s.successThreshold", field);
        err_field_invalid(err, f, v, "must be 1");
    }
    v = json_object_get(p, "terminationGracePeriodSeconds");
    if (json_is_integer(v) && json_integer_value(v) <= 0) {
        P(f, "%s.terminationGracePeriodSeconds", field);
        err_field_invalid(err, f, v, "must be greater than 0");
    }
}

/* Native resources are unprefixed or under kubernetes.io/; the rest are extended resources,
 * which cannot be overcommitted and must be whole numbers. */
static int resource_is_extended(const char *name)
{
    const char *slash = strchr(name, '/');

    if (!slash || strncmp(name, "requests.", 9) == 0)
        return 0;
    return !(strncmp(name, "kubernetes.io/", 14) == 0 || strstr(name, ".kubernetes.io/"));
}

static int resource_overcommit_ok(const char *name)
{
    return !resource_is_extended(name) && strncmp(name, "hugepages-", 10) != 0;
}

static void quantity_value_check(const char *name, const json_t *v, const char *f,
                                 struct err *err)
{
    int64_t m;
    const char *s = json_string_value(v);
    char num[64];

    if (json_is_number(v)) {
        P(num, "%.17g", json_number_value(v));
        s = num;
    }
    if (!s || quantity_parse_milli(s, &m) < 0)
        return;
    if (m < 0)
        err_field_invalid(err, f, v, "must be greater than or equal to 0");
    if (resource_is_extended(name) && m % 1000 != 0)
        err_field_invalid(err, f, v, "must be an integer");
}

static int qty_milli(const json_t *v, int64_t *m)
{
    char num[64];

    if (json_is_number(v)) {
        P(num, "%.17g", json_number_value(v));
        return quantity_parse_milli(num, m);
    }
    return quantity_parse_milli(json_string_value(v), m);
}

static void resources_validate(const json_t *r, const char *field, struct err *err)
{
    const json_t *lim = json_object_get(r, "limits"), *req = json_object_get(r, "requests");
    const char *k;
    json_t *v;
    char f[800];

    json_object_foreach((json_t *)lim, k, v) {
        P(f, "%s.limits[%s]", field, k);
        res__qualified_name_check(err, f, k);
        quantity_value_check(k, v, f, err);
    }
    json_object_foreach((json_t *)req, k, v) {
        const json_t *l = json_object_get(lim, k);
        int64_t rm, lm;

        P(f, "%s.requests[%s]", field, k);
        res__qualified_name_check(err, f, k);
        quantity_value_check(k, v, f, err);
        if (!l) {
            if (!resource_overcommit_ok(k)) {
                P(f, "%s.limits", field);
                err_field_required(err, f, "Limit must be set for non overcommitable resources");
            }
            continue;
        }
        if (qty_milli(v, &rm) < 0 || qty_milli(l, &lm) < 0)
            continue;
        {
            char *ls = jx_dump(l);
            const char *lt = json_is_string(l) ? json_string_value(l) : ls;

            if (rm != lm && !resource_overcommit_ok(k))
                err_field_invalid(err, f, v, "must be equal to %s limit of %s", k, lt);
            else if (rm > lm)
                err_field_invalid(err, f, v, "must be less than or equal to %s limit of %s", k,
                                  lt);
            free(ls);
        }
    }
}

static void ports_validate(const json_t *ports, const char *field, struct err *err)
{
    static const char *const protos[] = {"SCTP", "TCP", "UDP", NULL};
    size_t i, j;
    json_t *p, *q;
    char f[700];

    json_array_foreach(ports, i, p) {
        const json_t *cp = json_object_get(p, "containerPort"), *name = json_object_get(p, "name");

        P(f, "%s[%zu].containerPort", field, i);
        if (!cp || json_integer_value(cp) == 0)
            err_field_required(err, f, "");
        else
            port_num_check(cp, f, err);
        P(f, "%s[%zu].hostPort", field, i);
        if (json_integer_value(json_object_get(p, "hostPort")) != 0)
            port_num_check(json_object_get(p, "hostPort"), f, err);
        P(f, "%s[%zu].protocol", field, i);
        enum_check(p, "protocol", f, 1, protos, err);
        if (!json_string_value(name) || !*json_string_value(name))
            continue;
        P(f, "%s[%zu].name", field, i);
        port_name_check(name, f, err);
        json_array_foreach(ports, j, q) {
            if (j >= i)
                break;
            if (json_equal(json_object_get(q, "name"), (json_t *)name)) {
                err_field_duplicate(err, f, name);
                break;
            }
        }
    }
}

static void env_validate(const json_t *env, const char *field, struct err *err)
{
    size_t i;
    json_t *e;
    char f[700];

    json_array_foreach(env, i, e) {
        const char *name = jx_str(e, "name");

        P(f, "%s[%zu].name", field, i);
        if (!name || !*name)
            err_field_required(err, f, "");
        else if (strchr(name, '='))
            err_field_invalid(err, f, json_object_get(e, "name"),
                              "a valid environment variable name must consist only of "
                              "printable ASCII characters other than '='");
        if (jx_str(e, "value") && *jx_str(e, "value") &&
            json_is_object(json_object_get(e, "valueFrom"))) {
            json_t *empty = json_string("");

            P(f, "%s[%zu].valueFrom", field, i);
            err_field_invalid(err, f, empty, "may not be specified when `value` is not empty");
            json_decref(empty);
        }
    }
}

static void mounts_validate(const json_t *c, const json_t *vols, const char *field,
                            struct err *err)
{
    size_t i, j;
    json_t *m, *v, *n;
    char f[700];

    json_array_foreach(json_object_get(c, "volumeMounts"), i, m) {
        const char *name = jx_str(m, "name"), *mp = jx_str(m, "mountPath");
        int found = 0;

        json_array_foreach(vols, j, v)
            found |= name && jx_str(v, "name") && strcmp(jx_str(v, "name"), name) == 0;
        P(f, "%s.volumeMounts[%zu].name", field, i);
        if (!name || !*name)
            err_field_required(err, f, "");
        else if (!found)
            err_cause(err, "FieldValueNotFound", f, "Not found: \"%s\"", name);
        P(f, "%s.volumeMounts[%zu].mountPath", field, i);
        if (!mp || !*mp) {
            err_field_required(err, f, "");
            continue;
        }
        json_array_foreach(json_object_get(c, "volumeMounts"), j, n) {
            if (j >= i)
                break;
            if (jx_str(n, "mountPath") && strcmp(jx_str(n, "mountPath"), mp) == 0) {
                err_field_invalid(err, f, json_object_get(m, "mountPath"), "must be unique");
                break;
            }
        }
    }
}

/* ---- securityContext (ValidatePodSecurityContext, ValidateSecurityContext) ---- */

/* IsValidUserID / IsValidGroupID: an optional integer in [0, 2^31 - 1]. */
static void id_check(const json_t *v, const char *field, struct err *err)
{
    json_int_t n = json_integer_value(v);

    if (json_is_integer(v) && (n < 0 || n > 2147483647))
        err_field_invalid(err, field, v, "must be between 0 and 2147483647, inclusive");
}

/* validateLocalDescendingPath: relative, and no ".." segment (one error is enough). */
static void local_path_check(const json_t *v, const char *field, struct err *err)
{
    const char *s = json_string_value(v), *p = s;

    if (s[0] == '/')
        err_field_invalid(err, field, v, "must be a relative path");
    while (*p) {
        size_t n = strcspn(p, "/");

        if (n == 2 && p[0] == '.' && p[1] == '.') {
            err_field_invalid(err, field, v, "must not contain '..'");
            break;
        }
        p += n;
        p += *p == '/';
    }
}

/* validateSeccompProfileField. The upstream value of the "can only be set" error is the Go
 * struct; here it is the seccompProfile object, as JSON. */
static void seccomp_profile_validate(const json_t *sp, const char *field, struct err *err)
{
    static const char *const types[] = {"Localhost", "RuntimeDefault", "Unconfined", NULL};
    const char *type = jx_str(sp, "type");
    const json_t *lp = json_object_get(sp, "localhostProfile");
    char f[800];

    if (!json_is_object(sp))
        return;
    P(f, "%s.type", field);
    if (!type || !*type)
        err_field_required(err, f, "type is required when seccompProfile is set");
    else if (!str_in(type, types))
        err_field_unsupported(err, f, json_object_get(sp, "type"), types);
    P(f, "%s.localhostProfile", field);
    if (type && strcmp(type, "Localhost") == 0) {
        if (!json_is_string(lp))
            err_field_required(err, f, "must be set when seccomp type is Localhost");
        else
            local_path_check(lp, f, err);
    } else if (lp && !json_is_null(lp)) {
        err_field_invalid(err, f, sp, "can only be set when seccomp type is Localhost");
    }
}

/* A container's securityContext. As upstream, only the exact name CAP_SYS_ADMIN in
 * capabilities.add conflicts with allowPrivilegeEscalation: false, and the value of both
 * conflicts is the whole securityContext (a Go struct dump upstream, JSON here). */
static void container_security_validate(const json_t *sc, const char *field, struct err *err)
{
    static const char *const procs[] = {"Default", "Unmasked", NULL};
    const json_t *ape = json_object_get(sc, "allowPrivilegeEscalation"), *cap;
    char f[800];
    size_t i;

    if (!json_is_object(sc))
        return;
    P(f, "%s.runAsUser", field);
    id_check(json_object_get(sc, "runAsUser"), f, err);
    P(f, "%s.runAsGroup", field);
    id_check(json_object_get(sc, "runAsGroup"), f, err);
    P(f, "%s.procMount", field);
    enum_check(sc, "procMount", f, 0, procs, err);
    P(f, "%s.seccompProfile", field);
    seccomp_profile_validate(json_object_get(sc, "seccompProfile"), f, err);
    if (!json_is_false(ape))
        return;
    if (jx_bool(sc, "privileged"))
        err_field_invalid(err, field, sc, "cannot set `allowPrivilegeEscalation` to false and "
                                          "`privileged` to true");
    json_array_foreach(jx_get(sc, "capabilities.add"), i, cap)
        if (json_is_string(cap) && strcmp(json_string_value(cap), "CAP_SYS_ADMIN") == 0)
            err_field_invalid(err, field, sc, "cannot set `allowPrivilegeEscalation` to false "
                                              "and `capabilities.Add` CAP_SYS_ADMIN");
}

static void pod_security_validate(const json_t *psc, const char *field, struct err *err)
{
    static const char *const fsgcp[] = {"Always", "OnRootMismatch", NULL};
    static const char *const ids[] = {"runAsUser", "runAsGroup", "fsGroup"};
    const json_t *g;
    char f[800];
    size_t i;

    if (!json_is_object(psc))
        return;
    for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++) {
        P(f, "%s.%s", field, ids[k]);
        id_check(json_object_get(psc, ids[k]), f, err);
    }
    json_array_foreach(json_object_get(psc, "supplementalGroups"), i, g) {
        P(f, "%s.supplementalGroups[%zu]", field, i);
        id_check(g, f, err);
    }
    P(f, "%s.fsGroupChangePolicy", field);
    enum_check(psc, "fsGroupChangePolicy", f, 0, fsgcp, err);
    P(f, "%s.seccompProfile", field);
    seccomp_profile_validate(json_object_get(psc, "seccompProfile"), f, err);
}

static void container_validate(const json_t *c, const json_t *vols, const char *field,
                               int init, struct err *err)
{
    static const char *const pulls[] = {"Always", "IfNotPresent", "Never", NULL};
    static const char *const tmps[] = {"File", "FallbackToLogsOnError", NULL};
    const char *image = jx_str(c, "image");
    char f[700];
    json_t *lc = json_object_get(c, "lifecycle");

    P(f, "%s.image", field);
    if (!image || !*image)
        err_field_required(err, f, "");
    else if (strchr(" \t\n\r", image[0]) || strchr(" \t\n\r", image[strlen(image) - 1]))
        err_field_invalid(err, f, json_object_get(c, "image"),
                          "must not have leading or trailing whitespace");
    P(f, "%s.imagePullPolicy", field);
    enum_check(c, "imagePullPolicy", f, 1, pulls, err);
    P(f, "%s.terminationMessagePolicy", field);
    enum_check(c, "terminationMessagePolicy", f, 1, tmps, err);
    P(f, "%s.ports", field);
    ports_validate(json_object_get(c, "ports"), f, err);
    P(f, "%s.env", field);
    env_validate(json_object_get(c, "env"), f, err);
    P(f, "%s.resources", field);
    resources_validate(json_object_get(c, "resources"), f, err);
    mounts_validate(c, vols, field, err);
    P(f, "%s.securityContext", field);
    container_security_validate(json_object_get(c, "securityContext"), f, err);
    P(f, "%s.livenessProbe", field);
    probe_validate(json_object_get(c, "livenessProbe"), f, 1, err);
    P(f, "%s.readinessProbe", field);
    probe_validate(json_object_get(c, "readinessProbe"), f, 0, err);
    P(f, "%s.startupProbe", field);
    probe_validate(json_object_get(c, "startupProbe"), f, 1, err);
    if (json_is_object(json_object_get(lc, "postStart"))) {
        P(f, "%s.lifecycle.postStart", field);
        handler_validate(json_object_get(lc, "postStart"), f, 0, err);
    }
    if (json_is_object(json_object_get(lc, "preStop"))) {
        P(f, "%s.lifecycle.preStop", field);
        handler_validate(json_object_get(lc, "preStop"), f, 0, err);
    }
}

/* Names are unique across containers and init containers; both lists share this pass. */
static void containers_validate(const json_t *spec, const char *field, struct err *err)
{
    static const char *const lists[] = {"initContainers", "containers"};
    json_t *names = json_array(), *c;
    const json_t *vols = json_object_get(spec, "volumes");
    char f[700];
    size_t i;

    if (json_array_size(json_object_get(spec, "containers")) == 0) {
        P(f, "%s.containers", field);
        err_field_required(err, f, "");
    }
    for (int l = 0; l < 2; l++) {
        json_array_foreach(json_object_get(spec, lists[l]), i, c) {
            const json_t *name = json_object_get(c, "name");
            const char *s = json_string_value(name);
            size_t j;
            json_t *seen;
            int dup = 0;

            P(f, "%s.%s[%zu].name", field, lists[l], i);
            if (!s || !*s) {
                err_field_required(err, f, "");
            } else {
                res__name_check(err, f, s, RN_LABEL);
                json_array_foreach(names, j, seen)
                    dup |= json_equal(seen, (json_t *)name);
                if (dup)
                    err_field_duplicate(err, f, name);
                json_array_append(names, (json_t *)name);
            }
            P(f, "%s.%s[%zu]", field, lists[l], i);
            container_validate(c, vols, f, l == 0, err);
        }
    }
    json_decref(names);
}

static void volume_validate(const json_t *v, const char *field, struct err *err)
{
    static const struct {
        const char *src, *key;
    } req[] = {{"hostPath", "path"},
               {"secret", "secretName"},
               {"configMap", "name"},
               {"persistentVolumeClaim", "claimName"}};
    const char *first = NULL;
    char f[700];

    for (int k = 0; volume_sources[k]; k++) {
        const json_t *s = json_object_get(v, volume_sources[k]);

        if (!s || json_is_null(s))
            continue;
        if (first) {
            P(f, "%s.%s", field, volume_sources[k]);
            err_field_forbidden(err, f, "may not specify more than 1 volume type");
            continue;
        }
        first = volume_sources[k];
        for (size_t r = 0; r < sizeof req / sizeof req[0]; r++) {
            const char *val = jx_str(s, req[r].key);

            if (strcmp(first, req[r].src) == 0 && (!val || !*val)) {
                P(f, "%s.%s.%s", field, first, req[r].key);
                err_field_required(err, f, "");
            }
        }
        if (json_is_integer(json_object_get(s, "defaultMode")) &&
            (jx_int(s, "defaultMode", 0) < 0 || jx_int(s, "defaultMode", 0) > 0777)) {
            P(f, "%s.%s.defaultMode", field, first);
            err_field_invalid(err, f, json_object_get(s, "defaultMode"),
                              "must be a number between 0 and 0777 (octal), both inclusive");
        }
    }
    if (!first)
        err_field_required(err, field, "must specify a volume type");
}

static void volumes_validate(const json_t *vols, const char *field, struct err *err)
{
    size_t i, j;
    json_t *v, *w;
    char f[700];

    json_array_foreach(vols, i, v) {
        const json_t *name = json_object_get(v, "name");

        P(f, "%s[%zu].name", field, i);
        if (!json_string_value(name) || !*json_string_value(name)) {
            err_field_required(err, f, "");
        } else {
            res__name_check(err, f, json_string_value(name), RN_LABEL);
            json_array_foreach(vols, j, w) {
                if (j >= i)
                    break;
                if (json_equal(json_object_get(w, "name"), (json_t *)name)) {
                    err_field_duplicate(err, f, name);
                    break;
                }
            }
        }
        P(f, "%s[%zu]", field, i);
        volume_validate(v, f, err);
    }
}

static void podspec_scalars_validate(const json_t *spec, const char *field, struct err *err)
{
    static const char *const restarts[] = {"Always", "OnFailure", "Never", NULL};
    static const char *const dns[] = {"ClusterFirstWithHostNet", "ClusterFirst", "Default",
                                      "None", NULL};
    const json_t *ads = json_object_get(spec, "activeDeadlineSeconds");
    char f[700];

    P(f, "%s.restartPolicy", field);
    enum_check(spec, "restartPolicy", f, 1, restarts, err);
    P(f, "%s.dnsPolicy", field);
    enum_check(spec, "dnsPolicy", f, 1, dns, err);
    if (json_is_integer(ads) &&
        (json_integer_value(ads) < 1 || json_integer_value(ads) > 2147483647)) {
        P(f, "%s.activeDeadlineSeconds", field);
        err_field_invalid(err, f, ads, "must be between 1 and 2147483647, inclusive");
    }
    P(f, "%s.nodeSelector", field);
    res__labels_validate(json_object_get(spec, "nodeSelector"), f, err);
    if (jx_str(spec, "hostname") && *jx_str(spec, "hostname")) {
        P(f, "%s.hostname", field);
        res__name_check(err, f, jx_str(spec, "hostname"), RN_LABEL);
    }
    if (jx_str(spec, "subdomain") && *jx_str(spec, "subdomain")) {
        P(f, "%s.subdomain", field);
        res__name_check(err, f, jx_str(spec, "subdomain"), RN_LABEL);
    }
}

void res__podspec_validate(const json_t *spec, const json_t *old_spec, const char *field,
                           struct err *err)
{
    char f[700];

    if (!json_is_object(spec)) {
        err_field_required(err, field, "");
        return;
    }
    P(f, "%s.volumes", field);
    volumes_validate(json_object_get(spec, "volumes"), f, err);
    containers_validate(spec, field, err);
    podspec_scalars_validate(spec, field, err);
    P(f, "%s.securityContext", field);
    pod_security_validate(json_object_get(spec, "securityContext"), f, err);
    /* Upstream names the field under securityContext (its internal type keeps both there). */
    if (jx_bool(spec, "shareProcessNamespace") && jx_bool(spec, "hostPID")) {
        P(f, "%s.securityContext.shareProcessNamespace", field);
        err_field_invalid(err, f, json_object_get(spec, "shareProcessNamespace"),
                          "ShareProcessNamespace and HostPID cannot both be enabled");
    }
    P(f, "%s.tolerations", field);
    res__tolerations_validate(json_object_get(spec, "tolerations"), f, err);
    P(f, "%s.affinity.nodeAffinity", field);
    res__node_affinity_validate(jx_get(spec, "affinity.nodeAffinity"), f, err);
}

void res__podtemplate_validate(const json_t *tmpl, const char *field, struct err *err)
{
    static const char *const always[] = {"Always", NULL};
    const json_t *spec = json_object_get(tmpl, "spec"), *rp;
    char f[700];

    P(f, "%s.metadata.labels", field);
    res__labels_validate(jx_get(tmpl, "metadata.labels"), f, err);
    P(f, "%s.spec", field);
    res__podspec_validate(spec, NULL, f, err);
    rp = json_object_get(spec, "restartPolicy");
    if (json_is_string(rp) && strcmp(json_string_value(rp), "Always") != 0) {
        P(f, "%s.spec.restartPolicy", field);
        err_field_unsupported(err, f, rp, always);
    }
    if (json_object_get(spec, "activeDeadlineSeconds") &&
        !json_is_null(json_object_get(spec, "activeDeadlineSeconds"))) {
        P(f, "%s.spec.activeDeadlineSeconds", field);
        err_field_forbidden(err, f, "activeDeadlineSeconds in ReplicaSet is not Supported");
    }
}

/* Pod updates may change only images, activeDeadlineSeconds and add tolerations: blank
 * those out of a copy of the new spec and compare it with the old one. */
static void pod_update_validate(const json_t *spec, const json_t *old_spec, struct err *err)
{
    static const char *const lists[] = {"initContainers", "containers"};
    json_t *a = json_deep_copy(spec), *b = json_deep_copy(old_spec);
    json_t *ot = json_object_get(b, "tolerations"), *nt = json_object_get(a, "tolerations");
    size_t i, j;
    json_t *c, *t;
    int subset = 1;

    for (int l = 0; l < 2; l++) {
        json_array_foreach(json_object_get(a, lists[l]), i, c)
            if (json_is_object(c))
                json_object_del(c, "image");
        json_array_foreach(json_object_get(b, lists[l]), i, c)
            if (json_is_object(c))
                json_object_del(c, "image");
    }
    json_array_foreach(ot, i, t) {
        int found = 0;

        json_array_foreach(nt, j, c)
            found |= jx_equal_semantic(t, c);
        subset &= found;
    }
    if (subset && json_is_object(a) && json_is_object(b)) {
        json_object_del(a, "tolerations");
        json_object_del(b, "tolerations");
    }
    if (json_is_object(a) && json_is_object(b)) {
        json_object_del(a, "activeDeadlineSeconds");
        json_object_del(b, "activeDeadlineSeconds");
    }
    if (!jx_equal_semantic(a, b))
        err_field_forbidden(err, "spec",
                            "pod updates may not change fields other than "
                            "`spec.containers[*].image`,`spec.initContainers[*].image`,"
                            "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions "
                            "to existing tolerations),`spec.terminationGracePeriodSeconds` "
                            "(allow it to be set to 1 if it was previously negative)");
    json_decref(a);
    json_decref(b);
}

void res__pod_validate(const json_t *obj, const json_t *old, struct err *err)
{
    const json_t *spec = json_object_get(obj, "spec");

    res__meta_validate(obj, old, RN_SUBDOMAIN, 1, err);
    res__podspec_validate(spec, NULL, "spec", err);
    if (old)
        pod_update_validate(spec, json_object_get(old, "spec"), err);
}
