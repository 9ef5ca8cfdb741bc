/* ES256 JSON Web Tokens with OpenSSL 3: base64url without padding, the JOSE header, and the
 * conversion between OpenSSL's DER ECDSA signatures and JWS's fixed 64-byte r||s. Every
 * input is untrusted: lengths are capped and each part is checked before it is used. */
#include "core/jwt.h"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *b64u_encode(const unsigned char *in, size_t n)
{
    char *out = xmalloc(n / 3 * 4 + 5), *o = out;
    size_t i;

    for (i = 0; i + 2 < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];

        *o++ = b64u[v >> 18 & 63];
        *o++ = b64u[v >> 12 & 63];
        *o++ = b64u[v >> 6 & 63];
        *o++ = b64u[v & 63];
    }
    if (n - i == 1) {
        *o++ = b64u[in[i] >> 2];
        *o++ = b64u[(in[i] & 3) << 4];
    } else if (n - i == 2) {
        unsigned v = (unsigned)in[i] << 8 | in[i + 1];

        *o++ = b64u[v >> 10 & 63];
        *o++ = b64u[v >> 4 & 63];
        *o++ = b64u[(v & 15) << 2];
    }
    *o = 0;
    return out;
}

static int b64u_val(char c)
{
    const char *p = c ? strchr(b64u, c) : NULL;

    return p ? (int)(p - b64u) : -1;
}

/* Decodes n characters of unpadded base64url; NULL on a bad character, a length of 4k+1 or
 * non-zero trailing bits (one token, one encoding). *len gets the byte count; the result is
 * NUL-terminated. */
static unsigned char *b64u_decode(const char *in, size_t n, size_t *len)
{
    unsigned char *out = xmalloc(n / 4 * 3 + 4);
    unsigned acc = 0;
    int bits = 0;
    size_t o = 0;

    if (n % 4 == 1)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        int v = b64u_val(in[i]);

        if (v < 0)
            goto fail;
        acc = (acc << 6 | (unsigned)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    if (acc & ((1u << bits) - 1))
        goto fail;
    out[o] = 0;
    *len = o;
    return out;
fail:
    free(out);
    return NULL;
}

static json_t *b64u_json(const char *in, size_t n)
{
    size_t len;
    unsigned char *s = b64u_decode(in, n, &len);
    json_t *j = s ? json_loadb((const char *)s, len, JSON_REJECT_DUPLICATES, NULL) : NULL;

    free(s);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

static char *b64u_of_json(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
    char *out = b64u_encode((const unsigned char *)s, strlen(s));

    free(s);
    return out;
}

static int digest_sign(EVP_PKEY *key, const char *in, size_t n, unsigned char rs[64])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char der[128];
    const unsigned char *p = der;
    size_t dlen = sizeof der;
    ECDSA_SIG *sig = NULL;
    int ok = 0;

    if (md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
        EVP_DigestSign(md, der, &dlen, (const unsigned char *)in, n) == 1 &&
        (sig = d2i_ECDSA_SIG(NULL, &p, (long)dlen)))
        ok = BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 32) == 32 &&
             BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 32, 32) == 32;
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

static int digest_verify(EVP_PKEY *key, const char *in, size_t n, const unsigned char rs[64])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rs, 32, NULL), *s = BN_bin2bn(rs + 32, 32, NULL);
    unsigned char *der = NULL;
    int dlen, ok = 0;

    if (!md || !sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        goto out;
    }
    dlen = i2d_ECDSA_SIG(sig, &der);
    ok = dlen > 0 && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
         EVP_DigestVerify(md, der, (size_t)dlen, (const unsigned char *)in, n) == 1;
out:
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

char *jwt_sign(EVP_PKEY *key, const char *kid, const json_t *claims)
{
    json_t *hdr = json_pack("{s:s}", "alg", "ES256");
    char *h, *c, *signing, *sig, *tok = NULL;
    unsigned char rs[64];

    if (kid)
        json_object_set_new(hdr, "kid", json_string(kid));
    h = b64u_of_json(hdr);
    c = b64u_of_json(claims);
    signing = xasprintf("%s.%s", h, c);
    if (digest_sign(key, signing, strlen(signing), rs) == 0) {
        sig = b64u_encode(rs, sizeof rs);
        tok = xasprintf("%s.%s", signing, sig);
        free(sig);
    }
    json_decref(hdr);
    free(h);
    free(c);
    free(signing);
    return tok;
}

/* Splits token into its three parts: dot1 and dot2 point at the two dots. */
static int jwt_split(const char *token, const char **dot1, const char **dot2)
{
    size_t n = token ? strnlen(token, JWT_MAX_LEN + 1) : 0;

    if (!n || n > JWT_MAX_LEN)
        return -1;
    *dot1 = strchr(token, '.');
    *dot2 = *dot1 ? strchr(*dot1 + 1, '.') : NULL;
    return *dot1 && *dot2 && !strchr(*dot2 + 1, '.') ? 0 : -1;
}

json_t *jwt_claims_peek(const char *token)
{
    const char *d1, *d2;

    if (jwt_split(token, &d1, &d2) < 0)
        return NULL;
    return b64u_json(d1 + 1, (size_t)(d2 - d1 - 1));
}

int jwt_verify(EVP_PKEY *key, const char *token, json_t **claims, struct err *err)
{
    const char *d1, *d2;
    json_t *hdr = NULL;
    unsigned char *sig = NULL;
    size_t slen = 0;
    int rc = -E_UNAUTHORIZED;

    *claims = NULL;
    if (jwt_split(token, &d1, &d2) < 0) {
        err_set(err, rc, "not a compact JWT (three base64url parts, at most %d bytes)",
                JWT_MAX_LEN);
        goto out;
    }
    hdr = b64u_json(token, (size_t)(d1 - token));
    if (!hdr || strcmp(json_string_value(json_object_get(hdr, "alg")) ?: "", "ES256") != 0) {
        err_set(err, rc, "JWT header is not valid or its alg is not ES256");
        goto out;
    }
    sig = b64u_decode(d2 + 1, strlen(d2 + 1), &slen);
    if (!sig || slen != 64 || digest_verify(key, token, (size_t)(d2 - token), sig) < 0) {
        err_set(err, rc, "JWT signature is invalid");
        goto out;
    }
    *claims = b64u_json(d1 + 1, (size_t)(d2 - d1 - 1));
    if (!*claims) {
        err_set(err, rc, "JWT claims are not a JSON object");
        goto out;
    }
    rc = 0;
out:
    json_decref(hdr);
    free(sig);
    return rc;
}

int jwt_times_check(const json_t *claims, long long now, long long skew, struct err *err)
{
    const json_t *exp = json_object_get(claims, "exp"), *nbf = json_object_get(claims, "nbf");

    if (!json_is_integer(exp))
        return err_set(err, -E_UNAUTHORIZED, "JWT has no exp claim");
    if (json_integer_value(exp) + skew <= now)
        return err_set(err, -E_UNAUTHORIZED, "JWT has expired");
    if (nbf && (!json_is_integer(nbf) || json_integer_value(nbf) - skew > now))
        return err_set(err, -E_UNAUTHORIZED, "JWT is not valid yet (nbf)");
    return 0;
}
