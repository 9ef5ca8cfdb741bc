/* Pod readiness/availability, intstr and template hash helpers (see podutil.h). */
#include "controllers/podutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/kc.h"
#include "core/jx.h"
#include "core/log.h"

int pod_is_ready(const json_t *pod)
{
    json_t *c = cond_get(pod, "Ready");

    return c && strcmp(jx_str(c, "status") ?: "", "True") == 0;
}

int pod_is_terminating(const json_t *pod)
{
    return jx_get(pod, "metadata.deletionTimestamp") != NULL;
}

int pod_is_active(const json_t *pod)
{
    const char *ph = jx_str(pod, "status.phase");

    if (pod_is_terminating(pod))
        return 0;
    return !ph || (strcmp(ph, "Succeeded") != 0 && strcmp(ph, "Failed") != 0);
}

long long pod_available_in(const json_t *pod, long long min_ready, time_t now)
{
    json_t *c = cond_get(pod, "Ready");
    time_t since;

    if (!pod_is_ready(pod) || pod_is_terminating(pod))
        return -1;
    if (min_ready <= 0)
        return 0;
    since = time_parse(jx_str(c, "lastTransitionTime"));
    if (since < 0)
        return 0;
    if (since + min_ready < now)
        return 0;
    return since + min_ready - now + 1;
}

int pod_is_available(const json_t *pod, long long min_ready, time_t now)
{
    return pod_available_in(pod, min_ready, now) == 0;
}

int intstr_scaled(const json_t *v, long long total, int round_up, long long *out)
{
    const char *s;
    char *end;
    double p;

    if (!v || json_is_null(v)) {
        *out = 0;
        return 0;
    }
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return 0;
    }
    s = json_string_value(v);
    if (!s)
        return -1;
    p = strtod(s, &end);
    if (end == s || strcmp(end, "%") != 0) {
        /* A bare numeric string is accepted by upstream's GetScaledValueFromIntOrPercent? No:
         * it is an error; validation rejects it before we get here. */
        return -1;
    }
    p = p * (double)total / 100.0;
    *out = (long long)(round_up ? ceil(p) : floor(p));
    return 0;
}

/* Canonical text of a JSON value: sorted keys, no whitespace; hashed with FNV-1a. */
static uint32_t fnv(uint32_t h, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 16777619u;
    }
    return h;
}

void template_hash(const json_t *tmpl, long long collision, char out[16])
{
    static const char alpha[] = "bcdfghjklmnpqrstvwxz2456789";
    json_t *t = json_deep_copy(tmpl);
    json_t *labels = jx_get(t, "metadata.labels");
    char *s, num[16];
    uint32_t h = 2166136261u;

    if (json_is_object(labels))
        json_object_del(labels, "pod-template-hash");
    jx_prune(t);
    s = json_dumps(t, JSON_COMPACT | JSON_SORT_KEYS);
    h = fnv(h, s, strlen(s));
    if (collision >= 0) {
        unsigned char cc[8] = {(unsigned char)collision, (unsigned char)(collision >> 8),
                               (unsigned char)(collision >> 16), (unsigned char)(collision >> 24)};

        h = fnv(h, cc, sizeof cc);
    }
    free(s);
    json_decref(t);
    snprintf(num, sizeof num, "%u", h);
    for (size_t i = 0; num[i]; i++)
        out[i] = alpha[(unsigned char)num[i] % 27];
    out[strlen(num)] = 0;
}

/* Pointer fields of the pod template (Go pointers to int or bool): 0 or false there is a value
 * distinct from absent. */
static int template_pointer_field(const char *k)
{
    static const char *const keep[] = {"runAsUser",
                                       "runAsGroup",
                                       "fsGroup",
                                       "runAsNonRoot",
                                       "privileged",
                                       "allowPrivilegeEscalation",
                                       "readOnlyRootFilesystem",
                                       "automountServiceAccountToken",
                                       "enableServiceLinks",
                                       "shareProcessNamespace",
                                       "setHostnameAsFQDN",
                                       "hostUsers",
                                       "terminationGracePeriodSeconds",
                                       "activeDeadlineSeconds",
                                       "priority",
                                       "optional",
                                       "defaultMode",
                                       "mode",
                                       "replicas"};

    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
        if (strcmp(k, keep[i]) == 0)
            return 1;
    return 0;
}

/* Drops 0 and false under non-pointer keys, recursively: a client that read the template
 * through Go types (kubectl rollout undo) sends it back with those omitempty fields missing,
 * e.g. readinessProbe.initialDelaySeconds: 0 or env value "" — semantically the same template. */
static void template_strip_zero(json_t *o)
{
    const char *k;
    json_t *v;
    void *tmp;

    if (json_is_array(o)) {
        for (size_t i = 0; i < json_array_size(o); i++)
            template_strip_zero(json_array_get(o, i));
        return;
    }
    if (!json_is_object(o))
        return;
    json_object_foreach_safe(o, tmp, k, v)
    {
        if ((json_is_false(v) || (json_is_integer(v) && json_integer_value(v) == 0)) &&
            !template_pointer_field(k))
            json_object_del(o, k);
        else
            template_strip_zero(v);
    }
}

int template_equal(const json_t *a, const json_t *b)
{
    json_t *x = json_deep_copy(a), *y = json_deep_copy(b);
    json_t *lx = jx_get(x, "metadata.labels"), *ly = jx_get(y, "metadata.labels");
    int eq;

    if (json_is_object(lx))
        json_object_del(lx, "pod-template-hash");
    if (json_is_object(ly))
        json_object_del(ly, "pod-template-hash");
    template_strip_zero(x);
    template_strip_zero(y);
    eq = jx_equal_semantic(jx_prune(x), jx_prune(y));
    json_decref(x);
    json_decref(y);
    return eq;
}

json_t *owner_ref(const json_t *owner)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:b,s:b}", "apiVersion", jx_str(owner, "apiVersion"), "kind",
                     jx_str(owner, "kind"), "name", jx_str(owner, "metadata.name"), "uid",
                     jx_str(owner, "metadata.uid"), "controller", 1, "blockOwnerDeletion", 1);
}

int pod_create_from_template(struct kc *kc, const json_t *owner, const char *component,
                             struct err *err)
{
    json_t *tmpl = jx_get(owner, "spec.template"), *spec = jx_get(tmpl, "spec"), *pod, *out = NULL;
    struct kc_wopts o = {.grace = -1, .manager = "kube-controller-manager"};
    const char *ns = jx_str(owner, "metadata.namespace");
    static const char *const meta[] = {"labels", "annotations", "finalizers"};
    char gen[300];
    int rc;

    snprintf(gen, sizeof gen, "%s-", jx_str(owner, "metadata.name"));
    /* "o" steals: a borrowed template spec gets its own reference, a missing one a fresh {}. */
    pod = json_pack("{s:s,s:s,s:{s:s,s:s,s:[o]},s:o}", "apiVersion", "v1", "kind", "Pod",
                    "metadata", "generateName", gen, "namespace", ns, "ownerReferences",
                    owner_ref(owner), "spec", spec ? json_incref(spec) : json_object());
    for (size_t i = 0; i < sizeof meta / sizeof meta[0]; i++) {
        const json_t *v = json_object_get(json_object_get(tmpl, "metadata"), meta[i]);

        if (v)
            json_object_set_new(json_object_get(pod, "metadata"), meta[i], json_deep_copy(v));
    }
    rc = kc_create(kc, kc_resource(RES_POD), ns, pod, &o, &out, err);
    if (rc == 0)
        kc_event(kc, owner, "Normal", "SuccessfulCreate", component, "Created pod: %s",
                 jx_str(out, "metadata.name"));
    else
        kc_event(kc, owner, "Warning", "FailedCreate", component, "Error creating: %s", err->msg);
    json_decref(out);
    json_decref(pod);
    return rc;
}

int pod_delete_outcome(struct kc *kc, const json_t *owner, const char *name, int rc,
                       const struct err *err, const char *component)
{
    if (rc == 0 || rc == -E_NOT_FOUND)
        kc_event(kc, owner, "Normal", "SuccessfulDelete", component, "Deleted pod: %s", name);
    else
        kc_event(kc, owner, "Warning", "FailedDelete", component, "Error deleting: %s", err->msg);
    return rc == -E_NOT_FOUND ? 0 : rc;
}

int is_controlled_by(const json_t *obj, const json_t *owner)
{
    json_t *refs = jx_get(obj, "metadata.ownerReferences");
    const char *uid = jx_str(owner, "metadata.uid");

    for (size_t i = 0; i < json_array_size(refs); i++) {
        json_t *r = json_array_get(refs, i);

        if (json_is_true(json_object_get(r, "controller")))
            return uid && strcmp(jx_str(r, "uid") ?: "", uid) == 0;
    }
    return 0;
}

/* ---- config that rolls back with the code ---- */

static void refs_in(json_t *holder, const char *obj, const char *field, int secret,
                    config_ref_fn *fn, void *arg)
{
    json_t *h = json_object_get(holder, obj);

    if (json_is_object(h) && json_is_string(json_object_get(h, field)))
        fn(secret, h, field, arg);
}

static void refs_containers(json_t *list, config_ref_fn *fn, void *arg)
{
    json_t *c, *e;
    size_t i, j;

    json_array_foreach(list, i, c)
    {
        json_array_foreach(json_object_get(c, "env"), j, e)
        {
            json_t *vf = json_object_get(e, "valueFrom");

            refs_in(vf, "configMapKeyRef", "name", 0, fn, arg);
            refs_in(vf, "secretKeyRef", "name", 1, fn, arg);
        }
        json_array_foreach(json_object_get(c, "envFrom"), j, e)
        {
            refs_in(e, "configMapRef", "name", 0, fn, arg);
            refs_in(e, "secretRef", "name", 1, fn, arg);
        }
    }
}

void config_refs_each(json_t *spec, config_ref_fn *fn, void *arg)
{
    json_t *v, *s;
    size_t i, j;

    json_array_foreach(json_object_get(spec, "volumes"), i, v)
    {
        refs_in(v, "configMap", "name", 0, fn, arg);
        refs_in(v, "secret", "secretName", 1, fn, arg);
        json_array_foreach(jx_get(v, "projected.sources"), j, s)
        {
            refs_in(s, "configMap", "name", 0, fn, arg);
            refs_in(s, "secret", "name", 1, fn, arg);
        }
    }
    refs_containers(json_object_get(spec, "initContainers"), fn, arg);
    refs_containers(json_object_get(spec, "containers"), fn, arg);
}

static void ref_collect(int secret, json_t *holder, const char *field, void *arg)
{
    char key[300];

    snprintf(key, sizeof key, "%s/%s", secret ? "secret" : "cm",
             json_string_value(json_object_get(holder, field)));
    json_object_set_new(arg, key, json_true());
}

void config_refs_hash(const json_t *tmpl, char out[16])
{
    json_t *set = json_object(), *t = json_deep_copy(jx_get(tmpl, "spec")), *w;
    char *s;

    /* The walk only reads; it takes a non-const spec because callers may rewrite names. */
    config_refs_each(t, ref_collect, set);
    s = json_dumps(set, JSON_COMPACT | JSON_SORT_KEYS);
    w = json_pack("{s:s}", "refs", s);
    template_hash(w, -1, out);
    json_decref(w);
    free(s);
    json_decref(t);
    json_decref(set);
}

int config_rollout_pending(const json_t *d)
{
    const json_t *tmpl = jx_get(d, "spec.template");
    char h[16];

    if (strcmp(jx_annotation(d, CFG_A_OPTIN) ?: "", "true") != 0)
        return 0;
    config_refs_hash(tmpl, h);
    return strcmp(jx_annotation(tmpl, CFG_A_HASH) ?: "", h) != 0;
}
