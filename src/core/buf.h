/* Growable byte buffer with a hard cap (curl's dynbuf): appends past the cap fail with
 * -E_TOO_LARGE instead of growing without bound. */
#ifndef KROLL_CORE_BUF_H
#define KROLL_CORE_BUF_H

#include <stddef.h>

struct buf {
    char *data;
    size_t len, cap, max;
};

void buf_init(struct buf *b, size_t max);
void buf_release(struct buf *b);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_appendf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drops the first n bytes. */
void buf_consume(struct buf *b, size_t n);
/* Keeps data NUL-terminated past len (not counted); returns data. */
char *buf_cstr(struct buf *b);

#endif
