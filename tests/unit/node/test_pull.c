/* The kubelet's pull texts: Go-style durations in the Pulled event, skopeo's message without
 * its log framing, and imageID as the kubelet spells it. Includes the .c for its statics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "../../../src/node/kubelet_pull.c"

static void test_go_duration(void **state)
{
    static const struct {
        int64_t ms;
        const char *want;
    } cases[] = {{0, "0s"},          {7, "7ms"},         {999, "999ms"},   {1000, "1s"},
                 {1234, "1.234s"},   {1500, "1.5s"},     {60000, "1m0s"},  {123004, "2m3.004s"},
                 {3600000, "1h0m0s"}, {3723100, "1h2m3.1s"}};
    char out[GO_DURATION_LEN];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        go_duration(cases[i].ms, out);
        assert_string_equal(out, cases[i].want);
    }
}

static void test_err_text(void **state)
{
    char *t;
    char big[3000];

    (void)state;
    t = pull_err_text("pulling a:1: skopeo failed: time=\"2026-01-01T00:00:00Z\" level=fatal "
                      "msg=\"initializing source oci:/r:a:1: no descriptor found for \\\"a:1\\\"\"");
    assert_string_equal(t, "initializing source oci:/r:a:1: no descriptor found for \"a:1\"");
    free(t);
    t = pull_err_text("pulling a:1: skopeo did not finish in 600 s");
    assert_string_equal(t, "pulling a:1: skopeo did not finish in 600 s");
    free(t);
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    memcpy(big, "msg=\"", 5);
    t = pull_err_text(big);
    assert_int_equal(strlen(t), PULL_ERR_MAX);
    free(t);
}

static void test_image_id(void **state)
{
    struct kcont c;
    struct image img;

    (void)state;
    memset(&c, 0, sizeof c);
    memset(&img, 0, sizeof img);
    snprintf(img.id, sizeof img.id, "sha256:cfg");
    snprintf(img.digest, sizeof img.digest, "sha256:man");
    snprintf(c.image, sizeof c.image, "busybox");
    kubelet__image_id(&c, &img);
    assert_string_equal(c.image_id, "docker.io/library/busybox@sha256:man");
    snprintf(c.image, sizeof c.image, "myrepo/app:1");
    kubelet__image_id(&c, &img);
    assert_string_equal(c.image_id, "docker.io/myrepo/app@sha256:man");
    snprintf(c.image, sizeof c.image, "localhost:5000/a/b:2");
    kubelet__image_id(&c, &img);
    assert_string_equal(c.image_id, "localhost:5000/a/b@sha256:man");
    img.digest[0] = 0;
    kubelet__image_id(&c, &img);
    assert_string_equal(c.image_id, "sha256:cfg");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go_duration),
        cmocka_unit_test(test_err_text),
        cmocka_unit_test(test_image_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
