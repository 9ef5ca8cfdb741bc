/* Kubernetes name syntax and the built-in namespaces (core/names.h): the matchers follow
 * apimachinery's regular expressions exactly, and the checks return upstream's messages in
 * upstream's order, so kubectl prints the same causes as against a real cluster. */
#include "core/names.h"

#include <string.h>

static int is_lalnum(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_alnum(int c)
{
    return is_lalnum(c) || (c >= 'A' && c <= 'Z');
}

int name_dns1123_label_match(const char *s, size_t n)
{
    if (n == 0 || !is_lalnum((unsigned char)s[0]) || !is_lalnum((unsigned char)s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_lalnum((unsigned char)s[i]) && s[i] != '-')
            return 0;
    return 1;
}

int name_dns1123_subdomain_match(const char *s, size_t n)
{
    size_t start = 0;

    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.')
            continue;
        if (!name_dns1123_label_match(s + start, i - start))
            return 0;
        start = i + 1;
    }
    return 1;
}

int name_dns1035_label_match(const char *s, size_t n)
{
    return name_dns1123_label_match(s, n) && s[0] >= 'a' && s[0] <= 'z';
}

int name_qualified_part_match(const char *s, size_t n)
{
    if (n == 0 || !is_alnum((unsigned char)s[0]) || !is_alnum((unsigned char)s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return 0;
    return 1;
}

static void add(const char **msgs, int max, int *n, const char *m)
{
    if (*n < max)
        msgs[(*n)++] = m;
}

int name_qualified_check(const char *key, const char **msgs, int max)
{
    const char *slash = strchr(key, '/'), *name = key;
    int n = 0;

    if (slash && strchr(slash + 1, '/')) {
        add(msgs, max, &n,
            "a qualified name " NAME_QUALIFIED_MSG " with an optional DNS subdomain prefix and "
            "'/' (e.g. 'example.com/MyName')");
        return n;
    }
    if (slash) {
        size_t plen = (size_t)(slash - key);

        if (plen == 0)
            add(msgs, max, &n, "prefix part must be non-empty");
        else {
            if (plen > 253)
                add(msgs, max, &n, "prefix part must be no more than 253 characters");
            if (!name_dns1123_subdomain_match(key, plen))
                add(msgs, max, &n, "prefix part " NAME_DNS1123_SUBDOMAIN_MSG);
        }
        name = slash + 1;
    }
    if (!*name)
        add(msgs, max, &n, "name part must be non-empty");
    else if (strlen(name) > 63)
        add(msgs, max, &n, "name part must be no more than 63 characters");
    if (!name_qualified_part_match(name, strlen(name)))
        add(msgs, max, &n, "name part " NAME_QUALIFIED_MSG);
    return n;
}

int name_label_value_check(const char *value, const char **msgs, int max)
{
    size_t len = strlen(value);
    int n = 0;

    if (len > 63)
        add(msgs, max, &n, "must be no more than 63 characters");
    if (len && !name_qualified_part_match(value, len))
        add(msgs, max, &n, NAME_LABEL_VALUE_MSG);
    return n;
}

static const char *const builtin_ns[] = {"default", "kube-system", "kube-public",
                                         "kube-node-lease"};

const char *name_builtin_namespace(size_t i)
{
    return i < sizeof builtin_ns / sizeof builtin_ns[0] ? builtin_ns[i] : NULL;
}

int name_namespace_is_builtin(const char *ns)
{
    for (size_t i = 0; name_builtin_namespace(i); i++)
        if (strcmp(ns, builtin_ns[i]) == 0)
            return 1;
    return 0;
}
