/* JSON Web Tokens (RFC 7519) signed with ES256 (ECDSA P-256, SHA-256; RFC 7518 3.4), as
 * ServiceAccount tokens are: compact form "b64url(header).b64url(claims).b64url(r||s)". */
#ifndef KROLL_CORE_JWT_H
#define KROLL_CORE_JWT_H

#include <jansson.h>
#include <openssl/evp.h>

#include "core/err.h"

#define JWT_MAX_LEN 8192 /* a longer bearer token is refused before any decoding */

/* Signs claims (borrowed) with key (an EC P-256 private key); header {"alg":"ES256",
 * "kid":kid} (kid may be NULL). Returns a malloc'd token, or NULL when signing fails. */
char *jwt_sign(EVP_PKEY *key, const char *kid, const json_t *claims);
/* Checks token's form, its header (alg ES256 only: "none" and HMAC are refused) and its
 * signature with key. On success *claims gets the claims object (new reference) and 0 is
 * returned; otherwise -E_UNAUTHORIZED with err saying why. Times are not checked here. */
int jwt_verify(EVP_PKEY *key, const char *token, json_t **claims, struct err *err);
/* The claims of a token without checking its signature (for a holder deciding when to renew
 * its own token): new reference or NULL when the token is not well formed. */
json_t *jwt_claims_peek(const char *token);
/* Checks the registered time claims against now with skew seconds of leeway: exp required
 * and in the future, nbf (when present) not in the future. 0 or -E_UNAUTHORIZED with err. */
int jwt_times_check(const json_t *claims, long long now, long long skew, struct err *err);

#endif
