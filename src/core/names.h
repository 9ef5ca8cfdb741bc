/* Kubernetes names, the one copy for every component: the syntax rules of apimachinery's
 * util/validation (DNS-1123 label and subdomain, DNS-1035 label, qualified names, label values)
 * with upstream's messages, and the namespaces that always exist. */
#ifndef KROLL_CORE_NAMES_H
#define KROLL_CORE_NAMES_H

#include <stddef.h>

#define NAME_DNS1123_LABEL_MSG                                                                     \
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "       \
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "       \
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define NAME_DNS1123_SUBDOMAIN_MSG                                                                 \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "      \
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "    \
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define NAME_DNS1035_LABEL_MSG                                                                     \
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "      \
    "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "        \
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
#define NAME_QUALIFIED_MSG                                                                         \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "       \
    "an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for "      \
    "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define NAME_LABEL_VALUE_MSG                                                                       \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "       \
    "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "          \
    "'my_value',  or '12345', regex used for validation is "                                       \
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

/* The regular expressions alone, over s[0..n) (lengths are the callers' rules):
 * [a-z0-9]([-a-z0-9]*[a-z0-9])?, dot-separated labels of it, [a-z]([-a-z0-9]*[a-z0-9])? and
 * ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]. Return 1 on a match. */
int name_dns1123_label_match(const char *s, size_t n);
int name_dns1123_subdomain_match(const char *s, size_t n);
int name_dns1035_label_match(const char *s, size_t n);
int name_qualified_part_match(const char *s, size_t n);

/* IsQualifiedName and IsValidLabelValue: store up to max of upstream's messages (static
 * strings) in msgs and return how many; 0 means valid. */
int name_qualified_check(const char *key, const char **msgs, int max);
int name_label_value_check(const char *value, const char **msgs, int max);

/* The namespaces that always exist (default, kube-system, kube-public, kube-node-lease): the
 * server creates them, the API refuses to delete them, the namespace controller never empties
 * them. name_builtin_namespace(i) is the i-th, or NULL past the last. */
const char *name_builtin_namespace(size_t i);
int name_namespace_is_builtin(const char *ns);

#endif
