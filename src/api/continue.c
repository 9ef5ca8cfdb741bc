/* The continue token of paged lists, in kube-apiserver's format (apiserver's
 * pkg/storage/continue.go): base64url without padding of
 * {"v":"meta.k8s.io/v1","rv":N,"start":"<ns>/<name>\u0000"}, the key after the last one
 * returned. Clients treat it as opaque; a token is at most TOKEN_MAX bytes. */
#include "api/continue.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/jx.h"
#include "core/log.h"

#define KEY_MAX 600 /* bytes of "<ns>/<name>"; store keys are at most 63 + 1 + 253 */
/* Bytes of an encoded continue token; longer is refused. Every key the encoder accepts fits:
 * JSON escapes a byte in at most 6 (\u0001), plus about 50 bytes of framing, and base64
 * makes 4 of every 3 (600 * 6 + 64 -> 4,886). */
#define TOKEN_MAX 5120

char *list_token_encode(long long rv, const char *ns, const char *name)
{
    char start[KEY_MAX], *json, *out;
    int n;
    json_t *t;

    snprintf(start, sizeof start, "%s/%s", ns, name);
    /* The trailing NUL makes the start key the next key after the last one returned. */
    t = json_pack("{s:s,s:I,s:s%}", "v", "meta.k8s.io/v1", "rv", (json_int_t)rv, "start", start,
                  strlen(start) + 1);
    if (!t) /* not UTF-8: store keys always are; such a token is refused when it comes back */
        t = json_pack("{s:s,s:I,s:s}", "v", "meta.k8s.io/v1", "rv", (json_int_t)rv, "start", "");
    json = json_dumps(t, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(t);
    out = xmalloc(4 * (strlen(json) / 3 + 1) + 1);
    n = EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)json, (int)strlen(json));
    free(json);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = 0;
    for (char *p = out; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return out;
}

static int token_bad(struct err *err, const char *why)
{
    return err_set(err, -E_BAD_REQUEST, "continue key is not valid: %s", why);
}

int list_token_decode(const char *s, struct list_token *t, struct err *err)
{
    size_t n = strlen(s), pad;
    char b64[TOKEN_MAX + 4], raw[TOKEN_MAX];
    const char *start, *slash;
    int len;
    json_t *j;

    if (n > TOKEN_MAX || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789-_") != n || n % 4 == 1)
        return token_bad(err, "illegal base64 data");
    pad = (4 - n % 4) % 4;
    for (size_t i = 0; i < n; i++)
        b64[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    memset(b64 + n, '=', pad);
    len = EVP_DecodeBlock((unsigned char *)raw, (const unsigned char *)b64, (int)(n + pad));
    if (len < 0)
        return token_bad(err, "illegal base64 data");
    len -= (int)pad; /* EVP_DecodeBlock counts the padding as zero bytes */
    j = json_loadb(raw, (size_t)len, JSON_ALLOW_NUL, NULL);
    if (!j || !jx_str(j, "v") || strcmp(jx_str(j, "v"), "meta.k8s.io/v1") != 0) {
        json_decref(j);
        return token_bad(err, "server does not recognize this encoded version");
    }
    start = jx_str(j, "start");
    t->rv = json_integer_value(json_object_get(j, "rv"));
    if (!json_is_integer(json_object_get(j, "rv")) || t->rv == 0 || t->rv < -1) {
        json_decref(j);
        return token_bad(err, "incorrect encoded start resourceVersion (version meta.k8s.io/v1)");
    }
    if (!start || !*start || !(slash = strchr(start, '/')) ||
        (size_t)(slash - start) >= sizeof t->ns || strlen(slash + 1) >= sizeof t->name) {
        json_decref(j);
        return token_bad(err, "encoded start key empty");
    }
    snprintf(t->ns, sizeof t->ns, "%.*s", (int)(slash - start), start);
    snprintf(t->name, sizeof t->name, "%s", slash + 1);
    json_decref(j);
    return 0;
}

