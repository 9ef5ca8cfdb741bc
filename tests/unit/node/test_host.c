/* kubelet_host.c: the KrollRuntimeDegraded condition for each kind of host, and the per-container
 * refusals of what a host cannot enforce (memory limit, cpu resources, the pids limit), with the
 * default cpu weight dropped where there is no cpu controller. Detection itself is e2e t0652. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "core/jx.h"
#include "node/node-int.h"

static json_t *cond(struct kubelet *kl)
{
    json_t *c = kubelet__runtime_condition(kl);

    assert_string_equal(jx_str(c, "type"), "KrollRuntimeDegraded");
    return c;
}

static void test_condition(void **state)
{
    struct kubelet kl = {0};
    json_t *c;

    (void)state;
    c = cond(&kl); /* the process runtime */
    assert_true(json_is_true(json_object_get(c, "status")));
    assert_string_equal(jx_str(c, "reason"), "ProcessRuntime");
    json_decref(c);

    kl.runtime = "/usr/sbin/runc";
    c = cond(&kl);
    assert_true(json_is_false(json_object_get(c, "status")));
    assert_string_equal(jx_str(c, "reason"), "RuntimeComplete");
    json_decref(c);

    kl.host_missing = HOST_NO_OVERLAY | HOST_NO_PIDS;
    c = cond(&kl);
    assert_true(json_is_true(json_object_get(c, "status")));
    assert_string_equal(jx_str(c, "reason"), "HostFeaturesMissing");
    assert_string_equal(jx_str(c, "message"),
                        "missing on this host: overlayfs (container roots are copies of their "
                        "images' layers); the pids cgroup controller (containers are refused "
                        "while --pod-pids-limit is set)");
    json_decref(c);

    kl.host_missing = 0;
    kl.overlay_failed = 1;
    c = cond(&kl);
    assert_non_null(strstr(jx_str(c, "message"), "overlayfs mounts fail"));
    json_decref(c);

    kl.rt_err = "the OCI runtime runc was not found";
    c = cond(&kl);
    assert_string_equal(jx_str(c, "reason"), "RuntimeUnavailable");
    assert_string_equal(jx_str(c, "message"),
                        "no container can start: the OCI runtime runc was not found");
    json_decref(c);
}

/* fit(missing, container json, spec json): kubelet__spec_host_fit's rc; *out the spec after. */
static int fit(int missing, const char *ctr, const char *spec, json_t **out, char *msg, size_t n)
{
    struct kubelet kl = {.runtime = "runc", .host_missing = missing, .pids_limit = 4096};
    struct kop op = {.kl = &kl, .cname = "c"};
    int rc;

    err_init(&op.err);
    op.ctr = json_loads(ctr, 0, NULL);
    *out = json_loads(spec, 0, NULL);
    rc = kubelet__spec_host_fit(&op, *out);
    snprintf(msg, n, "%s", op.err.msg);
    err_release(&op.err);
    json_decref(op.ctr);
    return rc;
}

#define SPEC_CPU "{\"linux\":{\"resources\":{\"cpu\":{\"shares\":2}}}}"
#define SPEC_MEM "{\"linux\":{\"resources\":{\"cpu\":{\"shares\":2},\"memory\":{\"limit\":1}}}}"
#define SPEC_PIDS "{\"linux\":{\"resources\":{\"cpu\":{\"shares\":2},\"pids\":{\"limit\":4096}}}}"

static void test_spec_fit(void **state)
{
    char msg[1024];
    json_t *s;

    (void)state;
    /* Everything present: nothing refused, nothing changed. */
    assert_int_equal(fit(0, "{}", SPEC_MEM, &s, msg, sizeof msg), 0);
    assert_non_null(jx_get(s, "linux.resources.memory"));
    json_decref(s);
    /* No memory controller: a memory limit is refused, no limit runs. */
    assert_true(fit(HOST_NO_MEMORY, "{}", SPEC_MEM, &s, msg, sizeof msg) < 0);
    assert_string_equal(msg, "container c asks for a memory limit, but this node has no memory "
                             "cgroup controller to enforce it: refusing to run the container "
                             "without it");
    json_decref(s);
    assert_int_equal(fit(HOST_NO_MEMORY, "{}", SPEC_CPU, &s, msg, sizeof msg), 0);
    json_decref(s);
    /* No cpu controller: a request is refused; without one the default weight is dropped. */
    assert_true(fit(HOST_NO_CPU, "{\"resources\":{\"requests\":{\"cpu\":\"100m\"}}}", SPEC_CPU, &s,
                    msg, sizeof msg) < 0);
    assert_non_null(strstr(msg, "cpu resources"));
    json_decref(s);
    assert_int_equal(fit(HOST_NO_CPU, "{}", SPEC_CPU, &s, msg, sizeof msg), 0);
    assert_null(jx_get(s, "linux.resources.cpu"));
    json_decref(s);
    /* No pids controller: the node's pids limit cannot hold, so containers are refused. */
    assert_true(fit(HOST_NO_PIDS, "{}", SPEC_PIDS, &s, msg, sizeof msg) < 0);
    assert_non_null(strstr(msg, "--pod-pids-limit 4096"));
    json_decref(s);
    assert_int_equal(fit(HOST_NO_PIDS, "{}", SPEC_CPU, &s, msg, sizeof msg), 0);
    json_decref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_condition),
        cmocka_unit_test(test_spec_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
