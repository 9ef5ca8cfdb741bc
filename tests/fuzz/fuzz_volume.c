/* libFuzzer entry for the downward API / volume renderer (not the mounting): the input is
 * "<pod JSON>\0<volume source JSON>\0<objects JSON>\0<fieldPath>" (missing parts are {} or "").
 * Each input renders the labels/annotations files, downwardAPI, projected, configMap and secret
 * payloads (the objects part stands in for the API: name -> ConfigMap/Secret), a raw fieldPath,
 * a container's env, and checks every payload path. volume.c is included to reach its statics.
 * Build: tests/fuzz/run.sh volume */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "node/volume.c"
#include "node/env.h"

static const json_t *g_objs;

/* The client the renderer reads ConfigMaps and Secrets through: the fuzz input's objects part. */
json_t *kc_get(struct kc *kc, const struct resource *r, const char *ns, const char *name)
{
    return json_object_get(g_objs, name ? name : "");
}

const struct resource *kc_resource(enum res_id id)
{
    static struct resource r;

    return &r;
}

/* The TokenRequest the renderer makes for a serviceAccountToken source: a fixed token, or
 * NotFound for a ServiceAccount named "missing". */
int kc_token(struct kc *kc, const char *ns, const char *sa_name, const json_t *audiences,
             long long seconds, const json_t *pod, char **token, long long *exp, struct err *err)
{
    *token = NULL;
    if (strcmp(sa_name, "missing") == 0)
        return err_set(err, -E_NOT_FOUND, "serviceaccounts \"%s\" not found", sa_name);
    *token = xstrdup("eyJhbGciOiJFUzI1NiJ9.e30.AAAA");
    *exp = seconds;
    return 0;
}

static json_t *part(const char **s, size_t *n)
{
    const char *nul = memchr(*s, 0, *n);
    size_t len = nul ? (size_t)(nul - *s) : *n;
    json_t *v = json_loadb(*s, len, 0, NULL);

    *s += nul ? len + 1 : len;
    *n -= nul ? len + 1 : len;
    return v ? v : json_object();
}

static void render(const json_t *pod, const json_t *src)
{
    json_t *payload = json_object(), *v;
    const char *k;
    struct err e;

    err_init(&e);
    payload_downward(pod, src, 0644, payload, &e);
    err_release(&e);
    payload_projected(NULL, pod, src, "/nonexistent/kroll-fuzz-volume", payload, &e);
    err_release(&e);
    for (int secret = 0; secret < 2; secret++) {
        payload_object(NULL, "default", src, secret, 0644, payload, &e);
        err_release(&e);
    }
    json_object_foreach(payload, k, v)
        path_valid(k);
    json_decref(payload);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    size_t n = size;
    json_t *pod = part(&s, &n), *src = part(&s, &n), *objs = part(&s, &n), *env = NULL;
    char *fp = strndup(s, n), *val;
    struct err e;

    g_objs = objs;
    free(map_format(jx_get(pod, "metadata.labels")));
    free(map_format(jx_get(pod, "metadata.annotations")));
    render(pod, src);
    err_init(&e);
    val = node__field_value(pod, fp, &e);
    free(val);
    err_release(&e);
    val = node__resource_value(src, src, &e);
    free(val);
    err_release(&e);
    env_resolve(NULL, pod, src, json_object_get(objs, "imageEnv"), json_object_get(objs, "services"), &env, &e);
    json_decref(env);
    err_release(&e);
    free(fp);
    json_decref(objs);
    json_decref(src);
    json_decref(pod);
    return 0;
}
