/* Label key and value syntax (k8s.io/apimachinery/pkg/util/validation IsQualifiedName,
 * IsValidLabelValue) with upstream's messages, and Go's %q quoting for error texts: the
 * checks both selector parsers (selector.c) and the LabelSelector validator share. */
#include <stdio.h>
#include <string.h>

#include "api/selector-int.h"

/* ---------------------------------------------------------------------------------------------
 * Label syntax validation (k8s.io/apimachinery/pkg/util/validation), with
 * upstream messages. */

#define QN_REGEX "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define QN_MSG                                                                                     \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start "                    \
    "and end with an "                                                                             \
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "                        \
    "regex used for "                                                                              \
    "validation is '" QN_REGEX "')"
#define DNS_MSG                                                                                    \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "                      \
    "characters, '-' or "                                                                          \
    "'.', and must start and end with an alphanumeric character (e.g. "                            \
    "'example.com', regex used "                                                                   \
    "for validation is "                                                                           \
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define VALUE_MSG                                                                                  \
    "a valid label must be an empty string or consist of alphanumeric "                            \
    "characters, '-', '_' or "                                                                     \
    "'.', and must start and end with an alphanumeric character (e.g. "                            \
    "'MyValue',  or "                                                                              \
    "'my_value',  or '12345', regex used for validation is '(" QN_REGEX ")?')"

static void msgs_add(struct selector_msgs *ms, const char *m)
{
    if (ms->n < 4)
        ms->m[ms->n++] = m;
}

static int is_alnum(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] over s[0..n). */
static int qn_part_ok(const char *s, size_t n)
{
    if (n == 0 || !is_alnum((unsigned char)s[0]) || !is_alnum((unsigned char)s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (!is_alnum(c) && c != '-' && c != '_' && c != '.')
            return 0;
    }
    return 1;
}

/* RFC 1123 subdomain: dot-separated labels of [a-z0-9]([-a-z0-9]*[a-z0-9])?. */
static int dns_subdomain_ok(const char *s, size_t n)
{
    size_t start = 0;

    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.') {
            unsigned char c = s[i];
            if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '-')
                return 0;
            continue;
        }
        if (i == start || s[start] == '-' || s[i - 1] == '-')
            return 0;
        start = i + 1;
    }
    return 1;
}

/* IsQualifiedName: collects the messages for key k; returns how many. */
int selector__qualified_name_check(const char *k, struct selector_msgs *ms)
{
    const char *slash = strchr(k, '/');
    const char *name = k;

    ms->n = 0;
    if (slash && strchr(slash + 1, '/')) {
        msgs_add(ms, "a qualified name " QN_MSG " with an optional DNS subdomain prefix and '/' "
                     "(e.g. 'example.com/MyName')");
        return ms->n;
    }
    if (slash) {
        size_t plen = (size_t)(slash - k);
        if (plen == 0)
            msgs_add(ms, "prefix part must be non-empty");
        else if (plen > 253)
            msgs_add(ms, "prefix part must be no more than 253 characters");
        else if (!dns_subdomain_ok(k, plen))
            msgs_add(ms, "prefix part " DNS_MSG);
        name = slash + 1;
    }
    if (!*name)
        msgs_add(ms, "name part must be non-empty");
    else if (strlen(name) > 63)
        msgs_add(ms, "name part must be no more than 63 characters");
    if (!qn_part_ok(name, strlen(name)))
        msgs_add(ms, "name part " QN_MSG);
    return ms->n;
}

/* IsValidLabelValue. */
int selector__label_value_check(const char *v, struct selector_msgs *ms)
{
    size_t n = strlen(v);

    ms->n = 0;
    if (n > 63)
        msgs_add(ms, "must be no more than 63 characters");
    if (n && !qn_part_ok(v, n))
        msgs_add(ms, VALUE_MSG);
    return ms->n;
}

void selector__msgs_join(const struct selector_msgs *ms, char *out, size_t n)
{
    size_t off = 0;

    out[0] = 0;
    for (int i = 0; i < ms->n && off < n; i++)
        off += snprintf(out + off, n - off, "%s%s", i ? "; " : "", ms->m[i]);
}

/* Go's %q for a string, close enough for error text: escapes quotes,
 * backslashes and control bytes; UTF-8 passes through. */
void selector__go_quote(const char *s, char *out, size_t n)
{
    size_t o = 0;

    if (n < 3) {
        if (n)
            out[0] = 0;
        return;
    }
    out[o++] = '"';
    for (; *s && o + 6 < n; s++) {
        unsigned char c = *s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = c;
        } else if (c == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else if (c == '\t') {
            out[o++] = '\\';
            out[o++] = 't';
        } else if (c < 0x20 || c == 0x7f) {
            o += snprintf(out + o, n - o, "\\x%02x", c);
        } else {
            out[o++] = c;
        }
    }
    out[o++] = '"';
    out[o] = 0;
}
