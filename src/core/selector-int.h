/* Private to the selector files (selector.c, label_syntax.c): label key and value syntax
 * checks with upstream's messages, and Go-style quoting for error texts. */
#ifndef KROLL_CORE_SELECTOR_INT_H
#define KROLL_CORE_SELECTOR_INT_H

#include <stddef.h>

/* A small list of messages, joined with "; " where upstream joins them. */
struct selector_msgs {
    int n;
    const char *m[4];
    char buf[2][80];
};

/* IsQualifiedName / IsValidLabelValue: fill ms with the messages for k / v (static strings);
 * return how many (0 = valid). */
int selector__qualified_name_check(const char *k, struct selector_msgs *ms);
int selector__label_value_check(const char *v, struct selector_msgs *ms);
/* The messages joined with "; " into out (n bytes, truncated). */
void selector__msgs_join(const struct selector_msgs *ms, char *out, size_t n);
/* Go's %q for a string, close enough for error text (out is always terminated). */
void selector__go_quote(const char *s, char *out, size_t n);

#endif
