/* libFuzzer target for the bearer-token parser (src/core/jwt.c): the input is presented as a
 * token to jwt_verify and jwt_claims_peek. With a fixed key no input may verify (forging an
 * ES256 signature is the only way), claims that peek must be an object, and a token signed
 * over the input's claims (when they are a JSON object) must verify to the same claims.
 * Crashes, sanitizer reports, leaks and those checks failing are findings. Build: see
 * tests/fuzz/run.sh (target jwt). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/jwt.h"

#include "core/log.h"
#include <openssl/ec.h>

static EVP_PKEY *key;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = xmalloc(size + 1), *tok;
    json_t *claims = NULL, *peek, *j;
    struct err err;

    if (!key)
        key = EVP_EC_gen("P-256");
    memcpy(s, data, size);
    s[size] = 0;
    err_init(&err);
    if (jwt_verify(key, s, &claims, &err) == 0)
        abort(); /* a forged signature */
    peek = jwt_claims_peek(s);
    if (peek && !json_is_object(peek))
        abort();
    json_decref(peek);
    j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (json_is_object(j) && (tok = jwt_sign(key, NULL, j))) {
        if (jwt_verify(key, tok, &claims, &err) != 0 || !json_equal(claims, j))
            abort();
        json_decref(claims);
        free(tok);
    }
    json_decref(j);
    err_release(&err);
    free(s);
    return 0;
}
