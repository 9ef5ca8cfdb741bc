/* ServiceAccount tokens, as kube-apiserver's TokenRequest and its ServiceAccount token
 * authenticator: ES256 JWTs signed with <data-dir>/pki/sa.key, claims as upstream's
 * (pkg/serviceaccount/claims.go): iss, sub system:serviceaccount:NS:NAME, aud, exp, iat, nbf,
 * jti and kubernetes.io {namespace, serviceaccount {name, uid}, pod {name, uid}}. A token is
 * accepted while it is signed by the key, unexpired, for kroll's audience, and its
 * ServiceAccount (and bound pod) still exist with the uids it names. */
#include "api/api-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/file.h"
#include "core/jwt.h"
#include "core/jx.h"
#include "core/log.h"
#include "core/tls.h"

#define SA_SKEW 60 /* seconds of clock leeway, as upstream's validator */

int api__sa_init(struct api *api, const char *pki, struct err *err)
{
    char ca[4096 + 16];

    api->sa_key = tls_key_load(pki, "sa.key");
    if (!api->sa_key)
        return err_set(err, -E_INTERNAL, "cannot load the ServiceAccount key %s/sa.key", pki);
    snprintf(ca, sizeof ca, "%s/ca.crt", pki);
    api->ca_pem = file_read_all(ca, NULL);
    if (!api->ca_pem)
        return err_set(err, -E_INTERNAL, "cannot read %s", ca);
    return 0;
}

const char *api_ca_pem(const struct api *api)
{
    return api->ca_pem;
}

const char *api_kubernetes_ip(const struct api *api)
{
    return api->k8s_ip;
}

static int has_string(const json_t *arr, const char *s)
{
    size_t i;
    const json_t *v;

    if (json_is_string(arr))
        return strcmp(json_string_value(arr), s) == 0;
    json_array_foreach(arr, i, v) if (strcmp(json_string_value(v) ?: "", s) == 0) return 1;
    return 0;
}

int api_sa_token(struct api *api, const char *ns, const char *sa_name, const json_t *audiences,
                 long long seconds, const json_t *pod, char **token, long long *exp,
                 struct err *err)
{
    const json_t *sa = api_get(api, scheme_resource(RES_SERVICEACCOUNT), ns, sa_name);
    long long now = (long long)time(NULL);
    unsigned char r[16];
    char jti[33], *sub;
    json_t *claims, *k8s;

    *token = NULL;
    if (!sa)
        return err_set(err, -E_NOT_FOUND, "serviceaccounts \"%s\" not found", sa_name);
    random_bytes(r, sizeof r);
    for (int i = 0; i < 16; i++)
        sprintf(jti + 2 * i, "%02x", r[i]);
    k8s = json_pack("{s:s,s:{s:s,s:s}}", "namespace", ns, "serviceaccount", "name", sa_name, "uid",
                    jx_str(sa, "metadata.uid") ?: "");
    if (pod)
        json_object_set_new(k8s, "pod",
                            json_pack("{s:s,s:s}", "name", jx_str(pod, "metadata.name") ?: "",
                                      "uid", jx_str(pod, "metadata.uid") ?: ""));
    sub = xasprintf("system:serviceaccount:%s:%s", ns, sa_name);
    claims = json_object();
    json_object_set_new(claims, "aud",
                        json_array_size(audiences) ? json_deep_copy(audiences)
                                                   : json_pack("[s]", SA_ISSUER));
    json_object_set_new(claims, "exp", json_integer(now + seconds));
    json_object_set_new(claims, "iat", json_integer(now));
    json_object_set_new(claims, "iss", json_string(SA_ISSUER));
    json_object_set_new(claims, "jti", json_string(jti));
    json_object_set_new(claims, "kubernetes.io", k8s);
    json_object_set_new(claims, "nbf", json_integer(now));
    json_object_set_new(claims, "sub", json_string(sub));
    free(sub);
    *token = jwt_sign(api->sa_key, NULL, claims);
    json_decref(claims);
    if (!*token)
        return err_set(err, -E_INTERNAL, "signing the token failed");
    *exp = now + seconds;
    return 0;
}

/* The object named by claims' kubernetes.io.<what> when it still exists with that uid. */
static const json_t *claimed(struct api *api, enum res_id res, const char *ns, const json_t *c)
{
    const char *name = jx_str(c, "name"), *uid = jx_str(c, "uid");
    const json_t *o = name ? api_get(api, scheme_resource(res), ns, name) : NULL;

    return o && uid && strcmp(jx_str(o, "metadata.uid") ?: "", uid) == 0 ? o : NULL;
}

/* jwt_verify with a memory of the last API_SA_SEEN tokens that verified. */
static int verify_seen(struct api *api, const char *token, json_t **claims, struct err *err)
{
    unsigned char sha[32];
    unsigned int len = sizeof sha;
    int i;

    if (strnlen(token, JWT_MAX_LEN + 1) > JWT_MAX_LEN)
        return jwt_verify(api->sa_key, token, claims, err);
    if (!EVP_Digest(token, strlen(token), sha, &len, EVP_sha256(), NULL))
        return err_set(err, -E_INTERNAL, "SHA-256 unavailable");
    for (i = 0; i < API_SA_SEEN; i++)
        if (api->sa_seen_claims[i] && memcmp(api->sa_seen_sha[i], sha, sizeof sha) == 0) {
            *claims = json_incref(api->sa_seen_claims[i]);
            return 0;
        }
    if (jwt_verify(api->sa_key, token, claims, err) < 0)
        return -E_UNAUTHORIZED;
    i = api->sa_seen_next;
    api->sa_seen_next = (i + 1) % API_SA_SEEN;
    json_decref(api->sa_seen_claims[i]);
    api->sa_seen_claims[i] = json_incref(*claims);
    memcpy(api->sa_seen_sha[i], sha, sizeof sha);
    return 0;
}

void api__sa_release(struct api *api)
{
    for (int i = 0; i < API_SA_SEEN; i++)
        json_decref(api->sa_seen_claims[i]);
    EVP_PKEY_free(api->sa_key);
    free(api->ca_pem);
}

json_t *api__sa_authenticate(struct api *api, const char *token, struct err *err)
{
    json_t *claims = NULL, *user = NULL, *k8s, *pc;
    const char *ns;
    char *name;

    if (verify_seen(api, token, &claims, err) < 0 ||
        jwt_times_check(claims, (long long)time(NULL), SA_SKEW, err) < 0)
        goto out;
    k8s = json_object_get(claims, "kubernetes.io");
    ns = jx_str(k8s, "namespace");
    if (strcmp(jx_str(claims, "iss") ?: "", SA_ISSUER) != 0 ||
        !has_string(json_object_get(claims, "aud"), SA_ISSUER) || !ns) {
        err_set(err, -E_UNAUTHORIZED, "token has another issuer or audience");
        goto out;
    }
    if (!claimed(api, RES_SERVICEACCOUNT, ns, json_object_get(k8s, "serviceaccount"))) {
        err_set(err, -E_UNAUTHORIZED, "the token's ServiceAccount is gone (or was recreated)");
        goto out;
    }
    pc = json_object_get(k8s, "pod");
    if (pc && !claimed(api, RES_POD, ns, pc)) {
        err_set(err, -E_UNAUTHORIZED, "the pod the token is bound to is gone");
        goto out;
    }
    name = xasprintf("system:serviceaccounts:%s", ns);
    user = json_pack("{s:s,s:s,s:[s,s,s],s:{}}", "username", jx_str(claims, "sub") ?: "", "uid",
                     jx_str(k8s, "serviceaccount.uid") ?: "", "groups", "system:serviceaccounts",
                     name, "system:authenticated", "extra");
    free(name);
    if (pc) {
        json_object_set_new(json_object_get(user, "extra"), "authentication.kubernetes.io/pod-name",
                            json_pack("[s]", jx_str(pc, "name")));
        json_object_set_new(json_object_get(user, "extra"), "authentication.kubernetes.io/pod-uid",
                            json_pack("[s]", jx_str(pc, "uid")));
    }
    if (jx_str(claims, "jti")) {
        name = xasprintf("JTI=%s", jx_str(claims, "jti"));
        json_object_set_new(json_object_get(user, "extra"),
                            "authentication.kubernetes.io/credential-id", json_pack("[s]", name));
        free(name);
    }
out:
    json_decref(claims);
    return user;
}

/* ---- POST serviceaccounts/NAME/token (authentication.k8s.io/v1 TokenRequest) ---- */

static int token_spec_check(const json_t *spec, long long *seconds, struct err *err)
{
    const json_t *es = json_object_get(spec, "expirationSeconds"), *aud;
    size_t i;
    json_t *v;

    *seconds = es && !json_is_null(es) ? json_integer_value(es) : SA_DEFAULT_SECONDS;
    if (es && !json_is_null(es) && !json_is_integer(es)) {
        err_field_invalid(err, "spec.expirationSeconds", es, "must be an integer");
        return -E_INVALID;
    }
    if (*seconds < SA_MIN_SECONDS) {
        err_field_invalid(err, "spec.expirationSeconds", es,
                          "may not specify a duration less than 10 minutes");
        return -E_INVALID;
    }
    if (*seconds > SA_MAX_SECONDS) {
        err_field_invalid(err, "spec.expirationSeconds", es,
                          "may not specify a duration larger than 2^32 seconds");
        return -E_INVALID;
    }
    aud = json_object_get(spec, "audiences");
    if (aud && !json_is_null(aud) && (!json_is_array(aud) || json_array_size(aud) > 32)) {
        err_field_invalid(err, "spec.audiences", aud, "must be a list of at most 32 strings");
        return -E_INVALID;
    }
    json_array_foreach(aud, i, v) if (!json_is_string(v) || !json_string_length(v) ||
                                      json_string_length(v) > 256)
    {
        err_field_invalid(err, "spec.audiences", v,
                          "must be a non-empty string of at most 256 "
                          "bytes");
        return -E_INVALID;
    }
    return 0;
}

/* The pod of boundObjectRef (borrowed), NULL when there is none; -1 in *rc on error. */
static const json_t *token_bound_pod(struct api *api, const char *ns, const json_t *ref, int *rc,
                                     struct err *err)
{
    const char *kind = jx_str(ref, "kind"), *name = jx_str(ref, "name"), *uid = jx_str(ref, "uid");
    const json_t *pod;

    *rc = 0;
    if (!ref || json_is_null(ref))
        return NULL;
    if (!kind || strcmp(kind, "Pod") != 0) {
        err_field_invalid(err, "spec.boundObjectRef.kind", json_object_get(ref, "kind"),
                          "kroll binds tokens to pods only (kind Pod)");
        *rc = -E_INVALID;
        return NULL;
    }
    pod = name ? api_get(api, scheme_resource(RES_POD), ns, name) : NULL;
    if (!pod) {
        *rc = err_set(err, -E_NOT_FOUND, "pods \"%s\" not found", name ?: "");
        return NULL;
    }
    if (uid && *uid && strcmp(uid, jx_str(pod, "metadata.uid") ?: "") != 0) {
        *rc = err_set(err, -E_CONFLICT,
                      "the UID in the bound object reference (%s) does not match the UID in "
                      "record. The object might have been deleted and then recreated",
                      uid);
        return NULL;
    }
    return pod;
}

void api__token_request(struct api *api, struct http_req *req, struct api_target *t)
{
    json_t *body = NULL, *spec, *resp, *ref;
    const json_t *pod;
    long long seconds, exp;
    char *token = NULL, ts[64];
    struct err err;
    int rc;

    err_init(&err);
    if (!t->ns) {
        rc = err_set(&err, -E_NOT_FOUND, "the server could not find the requested resource");
        goto out;
    }
    if ((rc = api__body_parse(req, &body, &err)) < 0)
        goto out;
    spec = json_object_get(body, "spec");
    if ((rc = token_spec_check(spec, &seconds, &err)) < 0)
        goto out;
    ref = json_object_get(spec, "boundObjectRef");
    pod = token_bound_pod(api, t->ns, ref, &rc, &err);
    if (rc < 0 || (rc = api_sa_token(api, t->ns, t->name, json_object_get(spec, "audiences"),
                                     seconds, pod, &token, &exp, &err)) < 0)
        goto out;
    time_rfc3339((time_t)exp, ts);
    resp = json_pack("{s:s,s:s,s:{s:s,s:s,s:n},s:{s:o,s:I},s:{s:s,s:s}}", "kind", "TokenRequest",
                     "apiVersion", "authentication.k8s.io/v1", "metadata", "name", t->name,
                     "namespace", t->ns, "creationTimestamp", "spec", "audiences",
                     json_array_size(json_object_get(spec, "audiences"))
                         ? json_deep_copy(json_object_get(spec, "audiences"))
                         : json_pack("[s]", SA_ISSUER),
                     "expirationSeconds", seconds, "status", "token", token, "expirationTimestamp",
                     ts);
    if (pod)
        json_object_set_new(json_object_get(resp, "spec"), "boundObjectRef",
                            json_pack("{s:s,s:s,s:s,s:s}", "kind", "Pod", "apiVersion", "v1",
                                      "name", jx_str(pod, "metadata.name"), "uid",
                                      jx_str(pod, "metadata.uid")));
    api__respond_json(req, 201, resp);
    json_decref(resp);
out:
    if (rc == -E_INVALID && !err.code)
        err_invalid(&err, "TokenRequest", "authentication.k8s.io", t->name);
    if (rc < 0)
        api__fail(req, &err);
    free(token);
    json_decref(body);
    err_release(&err);
}

/* ---- POST /apis/authentication.k8s.io/v1/selfsubjectreviews ---- */

int api__is_selfsubjectreview(const char *path)
{
    return strcmp(path, "/apis/authentication.k8s.io/v1/selfsubjectreviews") == 0;
}

void api__selfsubjectreview(struct http_req *req, const json_t *user)
{
    json_t *r;

    if (strcmp(req->method, "POST") != 0) {
        api__fail_code(req, -E_METHOD,
                       "the server does not allow this method on the requested resource");
        return;
    }
    r = json_pack("{s:s,s:s,s:{s:n},s:{s:O}}", "kind", "SelfSubjectReview", "apiVersion",
                  "authentication.k8s.io/v1", "metadata", "creationTimestamp", "status", "userInfo",
                  user);
    api__respond_json(req, 201, r);
    json_decref(r);
}
