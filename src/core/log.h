/* logfmt logging to stderr: "ts level comp msg key=value". Debug lines per component are
 * switched on with KROLL_DEBUG=comp1,comp2 (or "all"). */
#ifndef KROLL_CORE_LOG_H
#define KROLL_CORE_LOG_H

#include <stddef.h>

void log_msg(const char *level, const char *comp, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int log_debug_on(const char *comp);

#define log_info(comp, ...) log_msg("info", comp, __VA_ARGS__)
#define log_warn(comp, ...) log_msg("warn", comp, __VA_ARGS__)
#define log_error(comp, ...) log_msg("error", comp, __VA_ARGS__)
#define log_debug(comp, ...)                                                                        \
    do {                                                                                           \
        if (log_debug_on(comp))                                                                    \
            log_msg("debug", comp, __VA_ARGS__);                                                   \
    } while (0)

/* Aborts with a message; only for startup failures and broken invariants. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* The same with exit status 2, for a wrong usage or a bad flag value. */
void die_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
#define BUG_ON(cond)                                                                               \
    do {                                                                                           \
        if (cond)                                                                                  \
            die("BUG at %s:%d: %s", __FILE__, __LINE__, #cond);                                    \
    } while (0)

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
