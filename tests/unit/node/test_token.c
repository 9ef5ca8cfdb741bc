/* The kubelet's renewal rule for projected ServiceAccount tokens (node__token_fresh): a token
 * stays while it is bound to the same pod and younger than 80% of its life (and 24 hours);
 * a malformed token, another pod's, or an old one is renewed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include <openssl/ec.h>

#include "core/jwt.h"
#include "node/envvol-int.h"

static char *token(EVP_PKEY *k, long long iat, long long exp, const char *uid)
{
    json_t *c =
        json_pack("{s:I,s:I,s:{s:s,s:{s:s,s:s}}}", "iat", (json_int_t)iat, "exp", (json_int_t)exp,
                  "kubernetes.io", "namespace", "ns", "pod", "name", "p", "uid", uid);
    char *t = jwt_sign(k, NULL, c);

    json_decref(c);
    return t;
}

static void test_fresh(void **state)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    char *t = token(k, 1000, 1000 + 3607, "u1"), *old = token(k, 1000, 1000 + 200000, "u1");

    (void)state;
    assert_true(node__token_fresh(t, "u1", 1000));
    assert_true(node__token_fresh(t, "u1", 1000 + 2884));  /* 3607 * 0.8 = 2885.6 */
    assert_false(node__token_fresh(t, "u1", 1000 + 2886)); /* past 80%: renew */
    assert_false(node__token_fresh(t, "u1", 1000 + 4000)); /* expired */
    assert_false(node__token_fresh(t, "u2", 1500));        /* another pod (a recreated one) */
    assert_false(node__token_fresh(t, NULL, 1500));
    assert_false(node__token_fresh(t, "u1", 900)); /* issued in the future: clock moved back */
    assert_true(node__token_fresh(old, "u1", 1000 + 86399));
    assert_false(node__token_fresh(old, "u1", 1000 + 86400)); /* a day old */
    assert_false(node__token_fresh("not a token", "u1", 1500));
    assert_false(node__token_fresh("", "u1", 1500));
    assert_false(node__token_fresh(NULL, "u1", 1500));
    free(t);
    free(old);
    EVP_PKEY_free(k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_fresh)};

    return cmocka_run_group_tests(tests, NULL, NULL);
}
