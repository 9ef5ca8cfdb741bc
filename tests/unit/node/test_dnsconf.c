/* Unit tests for the pods' resolv.conf (src/node/dnsconf.c), as the kubelet writes it:
 * ClusterFirst, Default, None with dnsConfig, hostNetwork, the merge rules and the limits. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h> /* after the headers it needs */

#include "node/rootfs.h"

static const char host[] = "# host\nnameserver 10.0.0.1\nnameserver 10.0.0.2\nsearch corp.example\n"
                           "options timeout:2 ndots:1\n";

static char *conf(const char *pod_json)
{
    json_t *pod = json_loads(pod_json, 0, NULL);
    char *s;

    assert_non_null(pod);
    s = rootfs_resolv_conf(pod, host);
    json_decref(pod);
    return s;
}

static void test_cluster_first(void **state)
{
    char *s = conf("{\"metadata\":{\"namespace\":\"ml\"},\"spec\":{}}");

    assert_non_null(strstr(s, "nameserver 127.77.0.10\n"));
    assert_null(strstr(s, "10.0.0.1"));
    assert_non_null(strstr(s, "search ml.svc.cluster.local svc.cluster.local cluster.local "
                              "corp.example\n"));
    assert_non_null(strstr(s, "options ndots:5\n"));
    free(s);
}

static void test_default_and_hostnet(void **state)
{
    char *s = conf("{\"spec\":{\"dnsPolicy\":\"Default\"}}");

    assert_non_null(strstr(s, "nameserver 10.0.0.1\nnameserver 10.0.0.2\n"));
    assert_non_null(strstr(s, "options timeout:2 ndots:1\n"));
    assert_null(strstr(s, "127.77.0.10"));
    free(s);
    s = conf("{\"spec\":{\"hostNetwork\":true}}"); /* ClusterFirst on the host network */
    assert_null(strstr(s, "127.77.0.10"));
    free(s);
    s = conf("{\"spec\":{\"hostNetwork\":true,\"dnsPolicy\":\"ClusterFirstWithHostNet\"}}");
    assert_non_null(strstr(s, "nameserver 127.77.0.10\n"));
    free(s);
}

static void test_none_and_merge(void **state)
{
    char *s = conf("{\"spec\":{\"dnsPolicy\":\"None\",\"dnsConfig\":{\"nameservers\":[\"1.1.1.1\"],"
                   "\"searches\":[\"a.example\"],\"options\":[{\"name\":\"ndots\",\"value\":\"2\"},"
                   "{\"name\":\"edns0\"}]}}}");

    assert_non_null(strstr(s, "nameserver 1.1.1.1\nsearch a.example\noptions ndots:2 edns0\n"));
    assert_null(strstr(s, "10.0.0.1"));
    free(s);
    /* merged: appended nameserver, extra search, ndots replaced in place */
    s = conf("{\"spec\":{\"dnsConfig\":{\"nameservers\":[\"1.1.1.1\",\"127.77.0.10\",\"2.2.2.2\","
             "\"3.3.3.3\"],\"searches\":[\"cluster.local\",\"b.example\"],"
             "\"options\":[{\"name\":\"ndots\",\"value\":\"3\"}]}}}");
    assert_non_null(strstr(s, "nameserver 127.77.0.10\nnameserver 1.1.1.1\nnameserver 2.2.2.2\n"
                              "search"));
    assert_null(strstr(s, "3.3.3.3")); /* at most 3 nameservers */
    assert_non_null(strstr(s, "cluster.local corp.example b.example\n"));
    assert_non_null(strstr(s, "options ndots:3\n"));
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_first),
        cmocka_unit_test(test_default_and_hostnet),
        cmocka_unit_test(test_none_and_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
