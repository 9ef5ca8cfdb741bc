/* Small whole files: read one (bounded) and write one atomically, the one copy every component
 * uses (the shim's state, the kubelet's CDI allocations and OCI bundles, the image tags, the
 * server's pid and token files). A written file is complete under its name or absent, even
 * after a crash (fsync before rename), and has exactly the mode asked for. */
#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

char *file_read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *p;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 0 || n > (1 << 20)) {
        fclose(f);
        return NULL;
    }
    p = xmalloc((size_t)n + 1);
    if (fread(p, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        free(p);
        return NULL;
    }
    fclose(f);
    p[n] = 0;
    if (len)
        *len = (size_t)n;
    return p;
}

ssize_t file_read_into(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    buf[0] = 0;
    if (fd < 0)
        return -errno;
    do
        n = read(fd, buf, size - 1);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        n = -errno;
    close(fd);
    if (n >= 0)
        buf[n] = 0;
    return n;
}

int file_write_atomic(const char *path, const void *data, size_t len, int mode)
{
    char tmp[4096];
    size_t off = 0;
    int fd, rc = 0;

    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return -errno;
    /* Exactly mode, whatever the umask (a 0600 file stays 0600, a 0644 one readable). */
    if (fchmod(fd, (mode_t)mode) < 0)
        rc = -errno;
    while (rc == 0 && off < len) {
        ssize_t w = write(fd, (const char *)data + off, len - off);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            rc = w < 0 ? -errno : -EIO;
        else
            off += (size_t)w;
    }
    /* fsync before rename: after a crash the name must point at complete contents. */
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    return rc;
}
