/* Small whole files: bounded reads and atomic writes (core/file.c). */
#ifndef KROLL_CORE_FILE_H
#define KROLL_CORE_FILE_H

#include <stddef.h>
#include <sys/types.h>

/* Reads a whole small file (<= 1 MiB) into a malloc'd NUL-terminated string, or NULL. */
char *file_read_all(const char *path, size_t *len);
/* Reads at most size - 1 bytes from the start of path into buf and NUL-terminates them (size
 * > 0); for pid files and /proc files, whose size stat cannot tell. Returns the byte count or
 * -errno (buf is then ""). */
ssize_t file_read_into(const char *path, char *buf, size_t size);
/* Writes data to path atomically: a temporary file beside it (path.tmp.<pid>), written in full,
 * given exactly mode, fsynced, then renamed over path. Returns 0 or -errno; on failure path is
 * unchanged and the temporary file is gone. */
int file_write_atomic(const char *path, const void *data, size_t len, int mode);

#endif
