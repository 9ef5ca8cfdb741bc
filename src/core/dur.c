/* Go's time.ParseDuration, in milliseconds: an optional sign, then one or more decimal numbers
 * (with an optional fraction) each followed by a unit ns, us, µs, ms, s, m, h. "0" alone needs
 * no unit. Sums are kept in nanoseconds as long double to stay exact enough and catch
 * overflow. */
#include "core/dur.h"

#include <string.h>

static const struct {
    const char *unit;
    long double ns;
} units[] = {
    {"ns", 1.0L}, {"us", 1e3L}, {"\xc2\xb5s", 1e3L}, {"\xce\xbcs", 1e3L},
    {"ms", 1e6L}, {"s", 1e9L},  {"m", 60e9L},        {"h", 3600e9L},
};

/* Length of the unit at s and its size in ns, or 0 when s starts with no known unit. The
 * two-letter units come first so "ms" is not read as "m". */
static size_t unit_at(const char *s, long double *ns)
{
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        size_t n = strlen(units[i].unit);

        if (strncmp(s, units[i].unit, n) == 0) {
            *ns = units[i].ns;
            return n;
        }
    }
    return 0;
}

int dur_parse(const char *s, int64_t *ms)
{
    long double total = 0;
    int neg = 0;

    if (!s || !*s || strlen(s) > DUR_MAX_LEN)
        return -1;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    if (strcmp(s, "0") == 0) {
        *ms = 0;
        return 0;
    }
    if (!*s)
        return -1;
    while (*s) {
        long double v = 0, scale = 1, uns;
        int digits = 0;
        size_t ul;

        while (*s >= '0' && *s <= '9') {
            v = v * 10 + (*s++ - '0');
            digits++;
        }
        if (*s == '.') {
            s++;
            while (*s >= '0' && *s <= '9') {
                scale /= 10;
                v += (*s++ - '0') * scale;
                digits++;
            }
        }
        if (!digits)
            return -1;
        ul = unit_at(s, &uns);
        if (!ul)
            return -1;
        s += ul;
        total += v * uns;
        if (total > 9.2e18L)
            return -1;
    }
    *ms = (int64_t)(total / 1e6L);
    if (neg)
        *ms = -*ms;
    return 0;
}
