/* logfmt logging, die() and the allocation wrappers that abort on out-of-memory. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void log_msg(const char *level, const char *comp, const char *fmt, ...)
{
    char buf[2048], ts[40];
    struct timespec now;
    struct tm tm;
    va_list ap;
    int n;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    n = snprintf(buf, sizeof buf, "%s.%03ldZ %s %s ", ts, now.tv_nsec / 1000000, level, comp);
    va_start(ap, fmt);
    vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
    va_end(ap);
    n = (int)strlen(buf);
    buf[n++] = '\n';
    fwrite(buf, 1, (size_t)n, stderr);
}

int log_debug_on(const char *comp)
{
    const char *d = getenv("KROLL_DEBUG");
    size_t n = strlen(comp);

    if (!d)
        return 0;
    if (strcmp(d, "all") == 0)
        return 1;
    for (const char *p = d; (p = strstr(p, comp)); p += n)
        if ((p == d || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
            return 1;
    return 0;
}

static void __attribute__((noreturn)) vdie(int status, const char *fmt, va_list ap)
{
    fprintf(stderr, "kroll: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    exit(status);
}

void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vdie(1, fmt, ap);
}

void die_usage(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vdie(2, fmt, ap);
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p)
        abort();
    return p;
}

void *xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);

    if (!p)
        abort();
    return p;
}

void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p)
        abort();
    return p;
}

char *xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");

    if (!p)
        abort();
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *p;

    va_start(ap, fmt);
    if (vasprintf(&p, fmt, ap) < 0)
        abort();
    va_end(ap);
    return p;
}
