/* core/names.c: the one copy of Kubernetes' name syntax (apimachinery util/validation) and of
 * the built-in namespaces. Cases from upstream's validation_test.go. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/names.h"

#define M(f, s) f(s, strlen(s))

static void test_dns1123(void **state)
{
    (void)state;
    assert_true(M(name_dns1123_label_match, "a"));
    assert_true(M(name_dns1123_label_match, "123-abc"));
    assert_false(M(name_dns1123_label_match, ""));
    assert_false(M(name_dns1123_label_match, "-a"));
    assert_false(M(name_dns1123_label_match, "a-"));
    assert_false(M(name_dns1123_label_match, "A"));
    assert_false(M(name_dns1123_label_match, "a.b"));
    assert_true(M(name_dns1123_subdomain_match, "example.com"));
    assert_true(M(name_dns1123_subdomain_match, "a"));
    assert_false(M(name_dns1123_subdomain_match, "a..b"));
    assert_false(M(name_dns1123_subdomain_match, ".a"));
    assert_false(M(name_dns1123_subdomain_match, "a."));
    assert_false(M(name_dns1123_subdomain_match, "a.-b"));
    assert_false(M(name_dns1123_subdomain_match, ""));
    assert_true(M(name_dns1035_label_match, "abc-123"));
    assert_false(M(name_dns1035_label_match, "1abc"));
}

static void test_qualified(void **state)
{
    const char *m[4];

    (void)state;
    assert_int_equal(name_qualified_check("example.com/MyName", m, 4), 0);
    assert_int_equal(name_qualified_check("my.name", m, 4), 0);
    /* An empty name part fails both the emptiness and the regex rule, as upstream. */
    assert_int_equal(name_qualified_check("example.com/", m, 4), 2);
    assert_string_equal(m[0], "name part must be non-empty");
    assert_string_equal(m[1], "name part " NAME_QUALIFIED_MSG);
    assert_int_equal(name_qualified_check("/a", m, 4), 1);
    assert_string_equal(m[0], "prefix part must be non-empty");
    assert_int_equal(name_qualified_check("Bad_Prefix/a", m, 4), 1);
    assert_string_equal(m[0], "prefix part " NAME_DNS1123_SUBDOMAIN_MSG);
    assert_int_equal(name_qualified_check("a/b/c", m, 4), 1);
    /* max bounds what is stored. */
    assert_int_equal(name_qualified_check("example.com/", m, 1), 1);
    assert_int_equal(name_label_value_check("", m, 4), 0);
    assert_int_equal(name_label_value_check("my_value", m, 4), 0);
    assert_int_equal(name_label_value_check("-x", m, 4), 1);
    assert_string_equal(m[0], NAME_LABEL_VALUE_MSG);
}

static void test_builtin_namespaces(void **state)
{
    size_t n = 0;

    (void)state;
    while (name_builtin_namespace(n))
        n++;
    assert_int_equal(n, 4);
    assert_true(name_namespace_is_builtin("default"));
    assert_true(name_namespace_is_builtin("kube-node-lease"));
    assert_false(name_namespace_is_builtin("kube"));
    assert_false(name_namespace_is_builtin(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dns1123),
        cmocka_unit_test(test_qualified),
        cmocka_unit_test(test_builtin_namespaces),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
