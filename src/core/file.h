/* Small whole files: bounded reads and atomic writes (core/file.c). */
#ifndef KROLL_CORE_FILE_H
#define KROLL_CORE_FILE_H

#include <stddef.h>

/* Reads a whole small file (<= 1 MiB) into a malloc'd NUL-terminated string, or NULL. */
char *file_read_all(const char *path, size_t *len);
/* Writes data to path atomically: a temporary file beside it (path.tmp.<pid>), written in full,
 * given exactly mode, fsynced, then renamed over path. Returns 0 or -errno; on failure path is
 * unchanged and the temporary file is gone. */
int file_write_atomic(const char *path, const void *data, size_t len, int mode);

#endif
