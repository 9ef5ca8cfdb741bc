/* The ServiceAccount admission plugin (plugin/pkg/admission/serviceaccount, 1.32) for pod
 * creation: spec.serviceAccountName defaults to `default` (the deprecated spec.serviceAccount
 * names it when set, and mirrors it), a pod naming a missing ServiceAccount is refused (403),
 * and unless automountServiceAccountToken (pod first, then ServiceAccount) is false the pod
 * gets the kube-api-access-XXXXX projected volume (a token the kubelet requests and renews,
 * kube-root-ca.crt's ca.crt, the namespace) mounted read-only in every container at
 * /var/run/secrets/kubernetes.io/serviceaccount. */
#include "api/api-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jx.h"
#include "core/log.h"
#include "core/tls.h"

#define SA_MOUNT "/var/run/secrets/kubernetes.io/serviceaccount"
#define SA_VOL_PREFIX "kube-api-access-"
#define SA_TOKEN_SECONDS 3607 /* the kubelet's projected token, as upstream's plugin asks */

static json_t *access_volume(const char *name)
{
    return json_pack("{s:s,s:{s:i,s:[{s:{s:I,s:s}},{s:{s:s,s:[{s:s,s:s}]}},"
                     "{s:{s:[{s:s,s:{s:s,s:s}}]}}]}}",
                     "name", name, "projected", "defaultMode", 420, "sources",
                     "serviceAccountToken", "expirationSeconds", (json_int_t)SA_TOKEN_SECONDS,
                     "path", "token", "configMap", "name", "kube-root-ca.crt", "items", "key",
                     "ca.crt", "path", "ca.crt", "downwardAPI", "items", "path", "namespace",
                     "fieldRef", "apiVersion", "v1", "fieldPath", "metadata.namespace");
}

static int mounts_path(const json_t *c, const char *path)
{
    size_t i;
    const json_t *m;

    json_array_foreach(json_object_get(c, "volumeMounts"), i,
                       m) if (strcmp(jx_str(m, "mountPath") ?: "", path) == 0) return 1;
    return 0;
}

static void mount_all(json_t *spec, const char *kind, const char *vol)
{
    size_t i;
    json_t *c, *vm;

    json_array_foreach(json_object_get(spec, kind), i, c)
    {
        if (!json_is_object(c) || mounts_path(c, SA_MOUNT))
            continue;
        vm = json_object_get(c, "volumeMounts");
        if (!json_is_array(vm)) {
            vm = json_array();
            json_object_set_new(c, "volumeMounts", vm);
        }
        json_array_append_new(
            vm, json_pack("{s:s,s:b,s:s}", "name", vol, "readOnly", 1, "mountPath", SA_MOUNT));
    }
}

static int has_access_volume(const json_t *spec)
{
    size_t i;
    const json_t *v;

    json_array_foreach(json_object_get(spec, "volumes"), i,
                       v) if (strncmp(jx_str(v, "name") ?: "", SA_VOL_PREFIX,
                                      strlen(SA_VOL_PREFIX)) == 0) return 1;
    return 0;
}

int api__sa_admit(struct api *api, json_t *pod, struct err *err)
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    json_t *spec = json_object_get(pod, "spec"), *vols;
    const char *sa_name, *ns = jx_str(pod, "metadata.namespace") ?: "default";
    const json_t *sa, *pa;
    unsigned char rnd[5];
    char vol[32];

    if (!api->sa_admission || !json_is_object(spec))
        return 0;
    sa_name = jx_str(spec, "serviceAccountName");
    if (!sa_name || !*sa_name)
        sa_name = jx_str(spec, "serviceAccount");
    if (!sa_name || !*sa_name)
        sa_name = "default";
    json_object_set_new(spec, "serviceAccountName", json_string(sa_name));
    sa_name = jx_str(spec, "serviceAccountName");
    json_object_set_new(spec, "serviceAccount", json_string(sa_name));
    sa = api_get(api, scheme_resource(RES_SERVICEACCOUNT), ns, sa_name);
    if (!sa)
        return err_set(err, -E_FORBIDDEN,
                       "pods \"%s\" is forbidden: error looking up service account %s/%s: "
                       "serviceaccount \"%s\" not found",
                       jx_str(pod, "metadata.name") ?: "", ns, sa_name, sa_name);
    pa = json_object_get(spec, "automountServiceAccountToken");
    if (json_is_false(pa) ||
        (!json_is_true(pa) && json_is_false(json_object_get(sa, "automountServiceAccountToken"))))
        return 0;
    if (has_access_volume(spec))
        return 0;
    random_bytes(rnd, sizeof rnd);
    snprintf(vol, sizeof vol, SA_VOL_PREFIX "%c%c%c%c%c", alphabet[rnd[0] % 27],
             alphabet[rnd[1] % 27], alphabet[rnd[2] % 27], alphabet[rnd[3] % 27],
             alphabet[rnd[4] % 27]);
    vols = json_object_get(spec, "volumes");
    if (!json_is_array(vols)) {
        vols = json_array();
        json_object_set_new(spec, "volumes", vols);
    }
    json_array_append_new(vols, access_volume(vol));
    mount_all(spec, "initContainers", vol);
    mount_all(spec, "containers", vol);
    return 0;
}
