/* core/jwt.c: ES256 tokens round-trip with their claims; a changed byte, another key, the
 * "none" algorithm, a bad encoding, an oversized token and expired/not-yet-valid times are
 * refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/jwt.h"

#include <openssl/ec.h>

static EVP_PKEY *key1, *key2;

static json_t *claims_new(void)
{
    return json_pack("{s:[s],s:I,s:I,s:s,s:{s:s,s:{s:s,s:s}},s:I,s:s}", "aud",
                     "https://kubernetes.default.svc.cluster.local", "exp", (json_int_t)2000, "iat",
                     (json_int_t)1000, "iss", "https://kubernetes.default.svc.cluster.local",
                     "kubernetes.io", "namespace", "ns1", "serviceaccount", "name", "default",
                     "uid", "u-1", "nbf", (json_int_t)1000, "sub",
                     "system:serviceaccount:ns1:default");
}

static void test_roundtrip(void **state)
{
    json_t *c = claims_new(), *got = NULL;
    char *tok = jwt_sign(key1, NULL, c);
    struct err err;

    (void)state;
    err_init(&err);
    assert_non_null(tok);
    assert_int_equal(
        strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
        strlen(tok));
    assert_int_equal(jwt_verify(key1, tok, &got, &err), 0);
    assert_true(json_equal(got, c));
    json_decref(got);
    got = jwt_claims_peek(tok);
    assert_true(json_equal(got, c));
    json_decref(got);
    /* The header says ES256. */
    assert_memory_equal(tok, "eyJhbGciOiJFUzI1NiJ9.", 21);
    free(tok);
    json_decref(c);
    err_release(&err);
}

static void test_refused(void **state)
{
    json_t *c = claims_new(), *got = NULL;
    char *tok = jwt_sign(key1, "k", c), *bad;
    size_t n = strlen(tok), d2 = (size_t)(strrchr(tok, '.') - tok);
    struct err err;

    (void)state;
    err_init(&err);
    /* Another key. */
    assert_int_equal(jwt_verify(key2, tok, &got, &err), -E_UNAUTHORIZED);
    assert_null(got);
    /* A changed claim byte, a changed signature byte. */
    bad = strdup(tok);
    bad[d2 - 3] = bad[d2 - 3] == 'A' ? 'B' : 'A';
    assert_int_equal(jwt_verify(key1, bad, &got, &err), -E_UNAUTHORIZED);
    strcpy(bad, tok);
    bad[n - 5] = bad[n - 5] == 'A' ? 'B' : 'A';
    assert_int_equal(jwt_verify(key1, bad, &got, &err), -E_UNAUTHORIZED);
    free(bad);
    /* alg "none" with the same claims and no signature. */
    bad = malloc(n + 32);
    sprintf(bad, "eyJhbGciOiJub25lIn0.%.*s.", (int)(d2 - (strchr(tok, '.') - tok) - 1),
            strchr(tok, '.') + 1);
    assert_int_equal(jwt_verify(key1, bad, &got, &err), -E_UNAUTHORIZED);
    assert_non_null(strstr(err.msg, "ES256"));
    free(bad);
    /* Not three parts; bad characters; padding; empty. */
    assert_int_equal(jwt_verify(key1, "a.b", &got, &err), -E_UNAUTHORIZED);
    assert_int_equal(jwt_verify(key1, "a.b.c.d", &got, &err), -E_UNAUTHORIZED);
    assert_int_equal(jwt_verify(key1, "e30=.e30.AA", &got, &err), -E_UNAUTHORIZED);
    assert_int_equal(jwt_verify(key1, "", &got, &err), -E_UNAUTHORIZED);
    assert_null(jwt_claims_peek("e30.e*0.x"));
    /* Oversized. */
    bad = malloc(JWT_MAX_LEN + 10);
    memset(bad, 'A', JWT_MAX_LEN + 9);
    bad[10] = '.';
    bad[20] = '.';
    bad[JWT_MAX_LEN + 9] = 0;
    assert_int_equal(jwt_verify(key1, bad, &got, &err), -E_UNAUTHORIZED);
    free(bad);
    free(tok);
    json_decref(c);
    err_release(&err);
}

static void test_times(void **state)
{
    json_t *c = claims_new();
    struct err err;

    (void)state;
    err_init(&err);
    assert_int_equal(jwt_times_check(c, 1500, 0, &err), 0);
    assert_int_equal(jwt_times_check(c, 2000, 0, &err), -E_UNAUTHORIZED);
    assert_non_null(strstr(err.msg, "expired"));
    assert_int_equal(jwt_times_check(c, 2030, 60, &err), 0); /* within the leeway */
    assert_int_equal(jwt_times_check(c, 900, 0, &err), -E_UNAUTHORIZED);
    json_object_del(c, "exp");
    assert_int_equal(jwt_times_check(c, 1500, 0, &err), -E_UNAUTHORIZED);
    json_decref(c);
    err_release(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_times),
    };
    int rc;

    key1 = EVP_EC_gen("P-256");
    key2 = EVP_EC_gen("P-256");
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    EVP_PKEY_free(key1);
    EVP_PKEY_free(key2);
    return rc;
}
