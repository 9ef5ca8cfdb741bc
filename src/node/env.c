/* Container environment as the kubelet computes it: envFrom sources, env entries with $(VAR)
 * expansion and valueFrom (downward API fields, resource fields, ConfigMap and Secret keys),
 * layered over the image's Env. Errors carry the kubelet's texts, which become the message of
 * a CreateContainerConfigError. */
#include "node/env.h"

#include <math.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/jx.h"
#include "core/log.h"
#include "node/envvol-int.h"

/* ---- $(VAR) expansion (Kubernetes' expansion package semantics) ------------------------------ */

struct sbuf {
    char *s;
    size_t len, cap;
};

static void sbuf_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

/* Looks name up in vars: a JSON object name -> string value. */
static const char *var_lookup(const json_t *vars, const char *name, size_t n)
{
    char *key = xasprintf("%.*s", (int)n, name);
    const char *v = json_string_value(json_object_get(vars, key));

    free(key);
    return v;
}

/* "$$" is a literal "$"; "$(NAME)" is replaced when NAME is defined and kept as written when
 * not; any other "$" is kept. Returns a malloc'd string. */
static char *expand(const char *in, const json_t *vars)
{
    struct sbuf b = {0};

    sbuf_add(&b, "", 0);
    for (const char *p = in; *p;) {
        const char *close, *v;
        if (p[0] != '$' || !p[1]) {
            sbuf_add(&b, p++, 1);
            continue;
        }
        if (p[1] == '$') {
            sbuf_add(&b, "$", 1);
            p += 2;
            continue;
        }
        if (p[1] != '(' || !(close = strchr(p + 2, ')'))) {
            sbuf_add(&b, p, 2);
            p += 2;
            continue;
        }
        v = var_lookup(vars, p + 2, (size_t)(close - p - 2));
        if (v)
            sbuf_add(&b, v, strlen(v));
        else
            sbuf_add(&b, p, (size_t)(close - p + 1));
        p = close + 1;
    }
    return b.s;
}

/* "K=V" strings into an object K -> V (the last one wins). */
static json_t *env_to_vars(const json_t *env)
{
    json_t *vars = json_object();
    const json_t *e;
    size_t i;

    json_array_foreach(env, i, e) {
        const char *s = json_string_value(e), *eq = s ? strchr(s, '=') : NULL;
        if (!eq || eq == s)
            continue;
        char *k = xasprintf("%.*s", (int)(eq - s), s);
        json_object_set_new(vars, k, json_string(eq + 1));
        free(k);
    }
    return vars;
}

json_t *env_expand(const json_t *args, const json_t *env)
{
    json_t *vars = env_to_vars(env), *out = json_array();
    const json_t *a;
    size_t i;

    json_array_foreach(args, i, a) {
        char *s = expand(json_string_value(a) ? json_string_value(a) : "", vars);
        json_array_append_new(out, json_string(s));
        free(s);
    }
    json_decref(vars);
    return out;
}

char *node__b64_decode(const char *s, size_t *n)
{
    size_t len = strlen(s), o = 0;
    unsigned acc = 0;
    int bits = 0;
    char *out = xmalloc(len / 4 * 3 + 4);

    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)s[i], v;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '+')
            v = 62;
        else if (c == '/')
            v = 63;
        else if (c == '=' && len - i <= 2)
            break;
        else
            goto bad;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    *n = o;
    return out;
bad:
    free(out);
    return NULL;
}

/* ---- value sources ---------------------------------------------------------------------------- */

/* Kubernetes' C_IDENTIFIER-like rule for environment variable names. */
static int env_name_valid(const char *k)
{
    if (!k || !*k || (*k >= '0' && *k <= '9'))
        return 0;
    for (; *k; k++)
        if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') || (*k >= '0' && *k <= '9') ||
              *k == '_' || *k == '-' || *k == '.'))
            return 0;
    return 1;
}

json_t *node__object_values(const json_t *obj, int secret)
{
    json_t *vals = json_object(), *v;
    const char *k;

    json_object_foreach(json_object_get(obj, "data"), k, v) {
        size_t n;
        char *raw;
        if (!json_is_string(v))
            continue;
        if (!secret) {
            json_object_set(vals, k, v);
            continue;
        }
        if ((raw = node__b64_decode(json_string_value(v), &n)))
            json_object_set_new(vals, k, json_stringn_nocheck(raw, n));
        free(raw);
    }
    json_object_foreach(secret ? NULL : json_object_get(obj, "binaryData"), k, v)
    {
        size_t n;
        char *raw = json_is_string(v) ? node__b64_decode(json_string_value(v), &n) : NULL;
        if (raw)
            json_object_set_new(vals, k, json_stringn_nocheck(raw, n));
        free(raw);
    }
    return vals;
}

/* A ConfigMap's or Secret's key -> value map (Secret values decoded); new reference or NULL. */
static json_t *source_values(struct kc *kc, int secret, const char *ns, const char *name)
{
    const json_t *obj = kc_get(kc, kc_resource(secret ? RES_SECRET : RES_CONFIGMAP), ns, name);

    return obj ? node__object_values(obj, secret) : NULL;
}

static int env_from_add(struct kc *kc, const char *ns, const json_t *from, json_t *vars,
                        struct err *err)
{
    const json_t *ref = json_object_get(from, "configMapRef");
    int secret = !ref;
    const char *prefix = jx_str(from, "prefix") ? jx_str(from, "prefix") : "", *name, *k;
    json_t *vals, *v;

    if (secret)
        ref = json_object_get(from, "secretRef");
    if (!json_is_object(ref))
        return 0;
    name = jx_str(ref, "name") ? jx_str(ref, "name") : "";
    vals = source_values(kc, secret, ns, name);
    if (!vals) {
        if (jx_bool(ref, "optional"))
            return 0;
        return err_set(err, -E_NOT_FOUND, "%s \"%s\" not found", secret ? "secret" : "configmap",
                       name);
    }
    json_object_foreach(vals, k, v) {
        char *key = xasprintf("%s%s", prefix, k);
        /* The kubelet skips such keys (and reports them in an InvalidEnvironmentVariableNames
         * event); the container still starts. */
        if (env_name_valid(key))
            json_object_set(vars, key, v);
        else
            log_info("env", "msg=\"skipping invalid environment variable name\" name=\"%s\" "
                            "source=%s/%s", key, ns, name);
        free(key);
    }
    json_decref(vals);
    return 0;
}

/* metadata.labels['KEY'] / metadata.annotations['KEY']: KEY is data (it may hold dots and
 * slashes, "app.kubernetes.io/name", and be of any length), looked up as one key. */
static const char *field_map_value(const json_t *pod, const char *path, const char *which)
{
    size_t n = strlen(which), kl;

    if (strncmp(path, which, n) != 0 || path[n] != '[' || path[n + 1] != '\'')
        return NULL;
    kl = strlen(path + n + 2);
    if (kl < 2 || strcmp(path + n + 2 + kl - 2, "']") != 0)
        return NULL;
    return json_string_value(json_object_getn(jx_get(pod, which), path + n + 2, kl - 2)) ?: "";
}

static char *ips_join(const json_t *pod, const char *arr, const char *single)
{
    const json_t *ips = jx_get(pod, arr), *ip;
    struct sbuf b = {0};
    size_t i;

    sbuf_add(&b, "", 0);
    json_array_foreach(ips, i, ip) {
        if (b.len)
            sbuf_add(&b, ",", 1);
        const char *s = jx_str(ip, "ip") ? jx_str(ip, "ip") : "";
        sbuf_add(&b, s, strlen(s));
    }
    if (!b.len && jx_str(pod, single))
        sbuf_add(&b, jx_str(pod, single), strlen(jx_str(pod, single)));
    return b.s;
}

/* The downward API field of pod named by path; malloc'd, or NULL with err set. */
char *node__field_value(const json_t *pod, const char *path, struct err *err)
{
    static const struct {
        const char *path, *json;
    } simple[] = {{"metadata.name", "metadata.name"},
                  {"metadata.namespace", "metadata.namespace"},
                  {"metadata.uid", "metadata.uid"},
                  {"spec.nodeName", "spec.nodeName"},
                  {"spec.serviceAccountName", "spec.serviceAccountName"},
                  {"status.hostIP", "status.hostIP"},
                  {"status.podIP", "status.podIP"}};
    const char *v;

    if (!path)
        path = "";
    for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
        if (strcmp(path, simple[i].path) == 0)
            return xstrdup(jx_str(pod, simple[i].json) ? jx_str(pod, simple[i].json) : "");
    if ((v = field_map_value(pod, path, "metadata.labels")) ||
        (v = field_map_value(pod, path, "metadata.annotations")))
        return xstrdup(v);
    if (strcmp(path, "status.podIPs") == 0)
        return ips_join(pod, "status.podIPs", "status.podIP");
    if (strcmp(path, "status.hostIPs") == 0)
        return ips_join(pod, "status.hostIPs", "status.hostIP");
    err_set(err, -E_INVALID, "unsupported fieldPath: %s", path);
    return NULL;
}

/* Node capacity stands in for an unset limit, as the kubelet uses node allocatable. */
static int64_t node_capacity_milli(const char *res)
{
    if (strcmp(res, "cpu") == 0)
        return (int64_t)sysconf(_SC_NPROCESSORS_ONLN) * 1000;
    if (strcmp(res, "memory") == 0)
        return (int64_t)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE) * 1000;
    return 0;
}

/* limits.cpu / requests.memory ... of container, divided by divisor and rounded up. */
char *node__resource_value(const json_t *container, const json_t *ref, struct err *err)
{
    const char *res = jx_str(ref, "resource"), *dq = json_string_value(jx_get(ref, "divisor"));
    const char *which, *name, *q;
    int64_t val = 0, div = 1000;
    char num[32];

    if (!res || !(name = strchr(res, '.')))
        goto bad;
    which = strncmp(res, "limits.", 7) == 0 ? "limits" : (strncmp(res, "requests.", 9) == 0
                                                                ? "requests" : NULL);
    name++;
    if (!which || (strcmp(name, "cpu") && strcmp(name, "memory") && strcmp(name, "ephemeral-storage")))
        goto bad;
    /* An integer divisor is a quantity too: parsing it bounds it (was: N * 1000 overflowed). */
    if (json_is_integer(jx_get(ref, "divisor"))) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(jx_get(ref, "divisor")));
        dq = num;
    }
    if (dq && quantity_parse_milli(dq, &div) < 0)
        return err_set(err, -E_INVALID, "invalid divisor %s", dq), NULL;
    if (div <= 0)
        return err_set(err, -E_INVALID, "invalid divisor %s", dq ? dq : "0"), NULL;
    q = json_string_value(json_object_get(json_object_get(jx_get(container, "resources"), which),
                                          name));
    if (!q && strcmp(which, "requests") == 0) /* requests default to limits */
        q = json_string_value(
            json_object_get(json_object_get(jx_get(container, "resources"), "limits"), name));
    if (q && quantity_parse_milli(q, &val) < 0)
        return err_set(err, -E_INVALID, "invalid quantity %s", q), NULL;
    if (!q && strcmp(which, "limits") == 0)
        val = node_capacity_milli(name);
    return xasprintf("%lld", (long long)ceil((double)val / (double)div));
bad:
    err_set(err, -E_INVALID, "unsupported container resource : %s", res ? res : "");
    return NULL;
}

static char *key_ref_value(struct kc *kc, const char *ns, const json_t *ref, int secret,
                           int *skip, struct err *err)
{
    const char *name = jx_str(ref, "name") ? jx_str(ref, "name") : "";
    const char *key = jx_str(ref, "key") ? jx_str(ref, "key") : "";
    json_t *vals = source_values(kc, secret, ns, name);
    const json_t *v;
    char *out = NULL;

    if (!vals) {
        if (jx_bool(ref, "optional"))
            *skip = 1;
        else
            err_set(err, -E_NOT_FOUND, "%s \"%s\" not found", secret ? "secret" : "configmap",
                    name);
        return NULL;
    }
    v = json_object_get(vals, key);
    if (v)
        out = xstrdup(json_string_value(v));
    else if (jx_bool(ref, "optional"))
        *skip = 1;
    else
        err_set(err, -E_NOT_FOUND, "couldn't find key %s in %s %s/%s", key,
                secret ? "Secret" : "ConfigMap", ns, name);
    json_decref(vals);
    return out;
}

/* The value of one env entry, or NULL: *skip when it is to be left out, else err is set. */
static char *env_value(struct kc *kc, const json_t *pod, const json_t *container,
                       const json_t *e, const json_t *vars, int *skip, struct err *err)
{
    const json_t *from = json_object_get(e, "valueFrom"), *ref;
    const char *ns = jx_str(pod, "metadata.namespace") ? jx_str(pod, "metadata.namespace")
                                                       : "default";

    if (!json_is_object(from))
        return expand(jx_str(e, "value") ? jx_str(e, "value") : "", vars);
    if ((ref = json_object_get(from, "fieldRef")))
        return node__field_value(pod, jx_str(ref, "fieldPath"), err);
    if ((ref = json_object_get(from, "resourceFieldRef")))
        return node__resource_value(container, ref, err);
    if ((ref = json_object_get(from, "configMapKeyRef")))
        return key_ref_value(kc, ns, ref, 0, skip, err);
    if ((ref = json_object_get(from, "secretKeyRef")))
        return key_ref_value(kc, ns, ref, 1, skip, err);
    err_set(err, -E_INVALID, "env %s: valueFrom has no source", jx_str(e, "name"));
    return NULL;
}

/* A Service's name as a variable prefix: upper case, '-' as '_' (makeEnvVariableName). */
static void svc_var_name(const char *name, char *out, size_t n)
{
    size_t i = 0;

    for (; name[i] && i + 1 < n; i++)
        out[i] = name[i] == '-' ? '_' : (char)toupper((unsigned char)name[i]);
    out[i] = 0;
}

static void setf(json_t *vars, const char *fmt_key, const char *key, const char *suffix,
                 const char *val)
{
    char k[800];

    snprintf(k, sizeof k, fmt_key, key, suffix);
    json_object_set_new(vars, k, json_string(val));
}

/* The variables of one Service as the kubelet makes them (pkg/kubelet/envvars): FOO_SERVICE_HOST,
 * FOO_SERVICE_PORT (the first port), FOO_SERVICE_PORT_<NAME> per named port, and the docker
 * link style FOO_PORT, FOO_PORT_<port>_<PROTO>{,_PROTO,_PORT,_ADDR}. */
static void svc_vars(const json_t *svc, json_t *vars)
{
    const char *ip = jx_str(svc, "spec.clusterIP");
    const json_t *ports = jx_get(svc, "spec.ports"), *p;
    char name[300], num[32], url[400], k[700], pn[300], proto[16];
    size_t i;

    svc_var_name(jx_str(svc, "metadata.name") ?: "", name, sizeof name);
    setf(vars, "%s_SERVICE_HOST%s", name, "", ip);
    json_array_foreach(ports, i, p)
    {
        const char *pr = jx_str(p, "protocol") ?: "TCP";

        snprintf(num, sizeof num, "%lld", (long long)jx_int(p, "port", 0));
        size_t j = 0;

        for (; pr[j] && j < sizeof proto - 1; j++)
            proto[j] = (char)tolower((unsigned char)pr[j]);
        proto[j] = 0;
        snprintf(url, sizeof url, "%s://%s:%s", proto, ip, num);
        if (i == 0) {
            setf(vars, "%s_SERVICE_PORT%s", name, "", num);
            setf(vars, "%s_PORT%s", name, "", url);
        }
        if (jx_str(p, "name") && *jx_str(p, "name")) {
            svc_var_name(jx_str(p, "name"), pn, sizeof pn);
            setf(vars, "%s_SERVICE_PORT_%s", name, pn, num);
        }
        snprintf(k, sizeof k, "%s_PORT_%s_%s", name, num, pr);
        setf(vars, "%s%s", k, "", url);
        setf(vars, "%s%s", k, "_PROTO", proto);
        setf(vars, "%s%s", k, "_PORT", num);
        setf(vars, "%s%s", k, "_ADDR", ip);
    }
}

/* Service links: every Service of the pod's namespace with a cluster IP, unless the pod sets
 * enableServiceLinks: false; and always, as the kubelet does, the API's `kubernetes` Service
 * of namespace default (KUBERNETES_SERVICE_HOST/PORT, which in-cluster clients read). A new
 * object of variables. */
static json_t *service_links(const json_t *pod, const char *ns, const json_t *services)
{
    json_t *vars = json_object(), *svc;
    const char *k, *ip;

    svc = json_object_get(services, "default/kubernetes");
    if (svc && jx_str(svc, "spec.clusterIP") && strcmp(ns, "default") != 0)
        svc_vars(svc, vars);
    if (json_is_false(jx_get(pod, "spec.enableServiceLinks"))) {
        if (svc && jx_str(svc, "spec.clusterIP") && strcmp(ns, "default") == 0)
            svc_vars(svc, vars);
        return vars;
    }
    json_object_foreach((json_t *)services, k, svc)
    {
        if (strcmp(jx_str(svc, "metadata.namespace") ?: "", ns) != 0)
            continue;
        ip = jx_str(svc, "spec.clusterIP");
        if (ip && *ip && strcmp(ip, "None") != 0)
            svc_vars(svc, vars);
    }
    return vars;
}

int env_resolve(struct kc *kc, const json_t *pod, const json_t *container,
                const json_t *image_env, const json_t *services, json_t **out, struct err *err)
{
    const char *ns = jx_str(pod, "metadata.namespace") ? jx_str(pod, "metadata.namespace")
                                                       : "default";
    /* Service variables first: $(VAR) sees them, and envFrom and env override them. */
    json_t *vars = service_links(pod, ns, services), *all, *v;
    const json_t *e;
    const char *k;
    size_t i;
    int rc = 0;

    *out = NULL;
    json_array_foreach(json_object_get(container, "envFrom"), i, e)
        if ((rc = env_from_add(kc, ns, e, vars, err)) < 0)
            goto out;
    json_array_foreach(json_object_get(container, "env"), i, e) {
        const char *name = jx_str(e, "name");
        int skip = 0;
        char *val;
        if (!name || !*name)
            continue;
        /* $(VAR) sees envFrom and earlier env entries, as in the kubelet (not the image's). */
        val = env_value(kc, pod, container, e, vars, &skip, err);
        if (!val && !skip) {
            rc = err->code ? err->code : -E_INVALID;
            goto out;
        }
        if (val)
            json_object_set_new(vars, name, json_string_nocheck(val));
        free(val);
    }
    /* The runtime layers the container's variables over the image's Env. */
    all = env_to_vars(image_env);
    json_object_foreach(vars, k, v)
        json_object_set(all, k, v);
    *out = json_array();
    json_object_foreach(all, k, v) {
        char *kv = xasprintf("%s=%s", k, json_string_value(v));
        json_array_append_new(*out, json_string_nocheck(kv));
        free(kv);
    }
    json_decref(all);
out:
    json_decref(vars);
    return rc;
}
