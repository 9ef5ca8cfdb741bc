/* Label key and value syntax (k8s.io/apimachinery/pkg/util/validation IsQualifiedName,
 * IsValidLabelValue, from core/names.c) with upstream's messages, and Go's %q quoting for error
 * texts: the checks both selector parsers (selector.c) and the LabelSelector validator share. */
#include <stdio.h>
#include <string.h>

#include "core/selector-int.h"
#include "core/names.h"

/* IsQualifiedName and IsValidLabelValue: the rules and messages are core/names.c's, shared
 * with the validation of objects (resources/meta.c). */
int selector__qualified_name_check(const char *k, struct selector_msgs *ms)
{
    return ms->n = name_qualified_check(k, ms->m, 4);
}

int selector__label_value_check(const char *v, struct selector_msgs *ms)
{
    return ms->n = name_label_value_check(v, ms->m, 4);
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
