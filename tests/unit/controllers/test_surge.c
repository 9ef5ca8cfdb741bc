/* GPU-safe surge's reading of the scheduler's messages (controllers/surge.c): which resource
 * names are extended resources, and which one an Unschedulable message says is short. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "controllers/surge.h"

static int ext(const char *name)
{
    return surge_extended(name, strlen(name));
}

static void test_extended(void **state)
{
    (void)state;
    assert_true(ext("nvidia.com/gpu"));
    assert_true(ext("amd.com/gpu"));
    assert_true(ext("example.org/fpga"));
    assert_false(ext("cpu"));
    assert_false(ext("memory"));
    assert_false(ext("pods"));
    assert_false(ext("ephemeral-storage"));
    assert_false(ext("hugepages-2Mi"));
    assert_false(ext("kubernetes.io/batch-cpu"));
    assert_false(ext("gpu")); /* not domain-prefixed: not an extended resource */
    assert_false(ext(""));
}

static void test_insufficient(void **state)
{
    char r[64];

    (void)state;
    assert_true(surge_insufficient("0/1 nodes are available: 1 Insufficient nvidia.com/gpu. "
                                   "preemption: 0/1 nodes are available: 1 No preemption "
                                   "victims found for incoming pod..",
                                   r, sizeof r));
    assert_string_equal(r, "nvidia.com/gpu");
    /* cpu first, the GPU second: the extended one is named */
    assert_true(surge_insufficient("0/1 nodes are available: 1 Insufficient cpu, 1 "
                                   "Insufficient nvidia.com/gpu.",
                                   r, sizeof r));
    assert_string_equal(r, "nvidia.com/gpu");
    assert_false(surge_insufficient("0/1 nodes are available: 1 Insufficient cpu, 1 "
                                    "Insufficient memory.",
                                    r, sizeof r));
    assert_false(surge_insufficient("0/1 nodes are available: 1 node(s) were unschedulable.", r,
                                    sizeof r));
    assert_false(surge_insufficient(NULL, r, sizeof r));
    assert_false(surge_insufficient("Insufficient ", r, sizeof r));
    /* a name longer than the buffer is not cut into a wrong one */
    assert_false(surge_insufficient("1 Insufficient very-long-vendor-domain.example.com/"
                                    "accelerator-of-a-kind.",
                                    r, 16));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extended),
        cmocka_unit_test(test_insufficient),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
